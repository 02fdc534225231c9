// The httpbin-compatible API that `weft serve` answers (httpbin 0.7's endpoints and response shapes).
#pragma once

#include <weft/http/router.hpp>

namespace weft::tool {

/// Every endpoint, with httpbin's CORS headers: /get /post /put /patch /delete /anything[/…] /headers
/// /ip /user-agent /uuid /status/{codes} /delay/{s} /bytes/{n} /stream/{n} /stream-bytes/{n} /drip
/// /range/{n} /gzip /deflate /base64/{v} /redirect/{n} /relative-redirect/{n} /absolute-redirect/{n}
/// /cookies /basic-auth/{user}/{passwd}.
http::router httpbin_routes();

}  // namespace weft::tool

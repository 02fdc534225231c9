// Fuzz target for the request-parsing glue (src/http/request_parser.*): arbitrary bytes, fed in pieces
// whose sizes come from the input itself, must never crash, overrun, or break the parser's contract.
//
// Built two ways: with clang's libFuzzer (`make fuzz`, CI runs it for a bounded time from corpus/), and
// as a plain program that replays the corpus files (ctest `fuzz_corpus_replay`).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "http/request_parser.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the piece size (1..32), so splits at every offset get exercised, and (its top
  // bit) whether bodies are streamed, as for a route with route_options::stream_body.
  std::size_t piece = data[0] % 32 + 1;
  bool stream_bodies = (data[0] & 0x80) != 0;
  const char* p = reinterpret_cast<const char*>(data + 1);
  std::size_t left = size - 1;
  weft::http::detail::request_parser parser({1024, 512, 4096});
  weft::http::request req;
  if (stream_bodies) parser.set_stream_probe([](const void*, const weft::http::request&) noexcept { return true; }, nullptr);
  parser.start(req);
  std::string pending;
  while (left > 0) {
    std::size_t n = left < piece ? left : piece;
    pending.append(p, n);
    p += n;
    left -= n;
    std::size_t at = 0;
    while (at < pending.size()) {
      std::size_t used = 0;
      auto st = parser.feed(pending.data() + at, pending.size() - at, used);
      check(used <= pending.size() - at);
      at += used;
      if (st == weft::http::detail::request_parser::state::failed) {
        int status = parser.error_status();
        // Every status the parser can answer with (request_parser.cpp's reject() calls); 501 is for a
        // transfer coding other than chunked, and CONNECT.
        check(status == 400 || status == 413 || status == 414 || status == 417 || status == 431 || status == 501 ||
              status == 505);
        return 0;
      }
      if (st == weft::http::detail::request_parser::state::head) {
        check(parser.streaming() && req.body.empty());
        continue;
      }
      parser.chunk().clear();
      if (st == weft::http::detail::request_parser::state::complete) {
        check(req.body.size() <= 4096);
        check(req.target.size() <= 512);
        check(!req.method.empty());
        parser.start(req);
        continue;
      }
      check(at == pending.size());  // need_more consumes everything it was given
    }
    pending.clear();
  }
  return 0;
}

#ifdef WEFT_FUZZ_REPLAY
#include <cstdio>
#include <fstream>
#include <iterator>

// Replays each file named on the command line through the target.
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  return 0;
}
#endif

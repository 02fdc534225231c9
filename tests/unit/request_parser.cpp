// The llhttp glue on its own: whole and byte-by-byte feeding agree, pipelined bytes are left unconsumed,
// limits give their statuses, and streaming pauses at the end of the head.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "http/request_parser.hpp"

using weft::http::request;
using weft::http::detail::parse_limits;
using weft::http::detail::request_parser;
using state = request_parser::state;

namespace {

constexpr parse_limits limits{1024, 256, 64};

/// Feeds `bytes` in pieces of `piece` bytes until a state other than need_more; reports what was used.
state feed_in_pieces(request_parser& p, const std::string& bytes, std::size_t piece, std::size_t& used_total) {
  used_total = 0;
  while (used_total < bytes.size()) {
    std::size_t n = std::min(piece, bytes.size() - used_total);
    std::size_t used = 0;
    state st = p.feed(bytes.data() + used_total, n, used);
    used_total += used;
    if (st != state::need_more) return st;
  }
  return state::need_more;
}

/// `bytes` fed whole, and a byte at a time: refused with 400 either way, without waiting for more.
void expect_400_whole_and_byte_by_byte(const std::string& bytes) {
  for (std::size_t piece : {bytes.size(), std::size_t{1}}) {
    request_parser p(limits);
    request req;
    p.start(req);
    std::size_t used = 0;
    EXPECT_EQ(feed_in_pieces(p, bytes, piece, used), state::failed) << bytes;
    EXPECT_EQ(p.error_status(), 400) << bytes;
  }
}

}  // namespace

TEST(unit_request_parser, byte_by_byte_equals_whole) {
  const std::string msg =
      "POST /a/b?x=1 HTTP/1.1\r\nHost: h\r\nX-Multi: 1\r\nx-multi: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  for (std::size_t piece : {msg.size(), std::size_t{1}, std::size_t{7}}) {
    request_parser p(limits);
    request req;
    p.start(req);
    std::size_t used = 0;
    ASSERT_EQ(feed_in_pieces(p, msg, piece, used), state::complete) << piece;
    EXPECT_EQ(used, msg.size());
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.target, "/a/b?x=1");
    EXPECT_EQ(req.body, "abcde");
    EXPECT_EQ(req.headers.get_all("X-MULTI").size(), 2u);
    EXPECT_TRUE(p.keep_alive());
  }
}

TEST(unit_request_parser, pipelined_bytes_stay_unconsumed) {
  const std::string one = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string two = "GET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  std::string both = one + two;
  request_parser p(limits);
  request req;
  p.start(req);
  std::size_t used = 0;
  ASSERT_EQ(p.feed(both.data(), both.size(), used), state::complete);
  EXPECT_EQ(used, one.size());
  EXPECT_EQ(req.target, "/1");
  p.start(req);
  std::size_t used2 = 0;
  ASSERT_EQ(p.feed(both.data() + used, both.size() - used, used2), state::complete);
  EXPECT_EQ(req.target, "/2");
  EXPECT_FALSE(p.keep_alive());
}

TEST(unit_request_parser, limits_and_framing_give_their_statuses) {
  struct bad {
    std::string bytes;
    int status;
  };
  const bad cases[] = {
      {"GET /" + std::string(300, 'u') + " HTTP/1.1\r\nHost: h\r\n\r\n", 414},
      {"GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(1100, 'v') + "\r\n\r\n", 431},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n", 413},
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nExpect: something-else\r\n\r\n", 417},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
      // The spaces are counted across feeds: "GET  " is a piece of its own here.
      {"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET /abc  HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;=v\r\nx\r\n0\r\n\r\n", 400},
  };
  for (const bad& c : cases) {
    request_parser p(limits);
    request req;
    p.start(req);
    std::size_t used = 0;
    EXPECT_EQ(feed_in_pieces(p, c.bytes, 5, used), state::failed) << c.bytes.substr(0, 40);
    EXPECT_EQ(p.error_status(), c.status) << c.bytes.substr(0, 40);
  }
}

TEST(unit_request_parser, streaming_pauses_after_the_head_and_collects_chunks) {
  request_parser p(limits);
  p.set_stream_probe([](const void*, const request& r) noexcept { return r.target == "/up"; }, nullptr);
  request req;
  p.start(req);
  const std::string msg = "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'z');
  std::size_t used = 0;
  ASSERT_EQ(p.feed(msg.data(), msg.size(), used), state::head);  // 100 > max body: streaming ignores it
  EXPECT_TRUE(p.streaming());
  EXPECT_FALSE(p.message_done());
  std::size_t more = 0;
  ASSERT_EQ(p.feed(msg.data() + used, msg.size() - used, more), state::complete);
  EXPECT_EQ(p.chunk(), std::string(100, 'z'));
  EXPECT_TRUE(req.body.empty());
}

TEST(unit_request_parser, a_reused_parser_forgets_a_broken_message) {
  request_parser p(limits);
  request req;
  p.start(req);
  std::size_t used = 0;
  const std::string broken = "GET / HT";
  EXPECT_EQ(p.feed(broken.data(), broken.size(), used), state::need_more);
  p.reuse(limits);  // as the pool does for the next connection
  p.start(req);
  const std::string good = "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n";
  ASSERT_EQ(p.feed(good.data(), good.size(), used), state::complete);
  EXPECT_EQ(req.target, "/ok");
}

// RFC 9110 §5.5: a field value may be empty, with or without whitespace before the line's end. An
// obs-fold is still refused, also after an empty first line.
TEST(unit_request_parser, empty_field_values_are_accepted_and_folds_still_refused) {
  const std::string msg = "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nAccept: \r\nX-Tab:\t\r\nX-Last: v\r\n\r\n";
  for (std::size_t piece : {msg.size(), std::size_t{1}, std::size_t{5}}) {
    request_parser p(limits);
    request req;
    p.start(req);
    std::size_t used = 0;
    ASSERT_EQ(feed_in_pieces(p, msg, piece, used), state::complete) << piece << ": " << p.error_reason();
    EXPECT_EQ(req.headers.get("X-Empty"), std::optional<std::string_view>(""));
    EXPECT_EQ(req.headers.get("Accept"), std::optional<std::string_view>(""));
    EXPECT_EQ(req.headers.get("X-Tab"), std::optional<std::string_view>(""));
    EXPECT_EQ(req.headers.get("X-Last"), std::optional<std::string_view>("v"));
  }
  for (const std::string& folded : {std::string("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"),
                                    std::string("GET / HTTP/1.1\r\nHost: h\r\nX:\r\n b\r\n\r\n"),
                                    std::string("GET / HTTP/1.1\r\nHost: h\r\nX: \r\n\tb\r\n\r\n")}) {
    expect_400_whole_and_byte_by_byte(folded);
  }
}

// A request line without a version (HTTP/0.9) is refused at its line's end, not after a wait for header
// fields that will never come.
TEST(unit_request_parser, an_http_0_9_request_line_is_refused_at_once) {
  for (const std::string& line : {std::string("GET /\r\n"), std::string("GET /index.html\n")}) {
    expect_400_whole_and_byte_by_byte(line);
  }
}

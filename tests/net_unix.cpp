// Unix-domain stream sockets, for real, in a temporary directory.
#include <gtest/gtest.h>
#include <weft/net/unix.hpp>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "test_support.hpp"

using namespace weft;
using namespace weft::net;

namespace {

std::string temp_socket_path() {
  char dir[] = "/tmp/weft-unix-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  return std::string(dir) + "/s.sock";
}

bool exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST(net_unix, listen_connect_echo_and_cleanup) {
  std::string path = temp_socket_path();
  auto body = [&]() -> task<void> {
    auto l = unix_listener::bind(path);
    CO_ASSERT_TRUE(l.has_value());
    EXPECT_TRUE(exists(path));
    auto server = spawn([&]() -> task<result<std::string>> {
      auto c = co_await l->accept();
      if (!c) co_return fail(c.error());
      char buf[5];
      auto r = co_await c->read_exact(buf);
      if (!r) co_return fail(r.error());
      co_await c->write_all(std::string_view(buf, 5));
      co_return std::string(buf, 5);
    });
    auto c = co_await unix_stream::connect(path);
    CO_ASSERT_TRUE(c.has_value());
    co_await c->write_all("hello");
    char back[5];
    auto r = co_await c->read_exact(back);
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(std::string(back, 5), "hello");
    auto got = co_await std::move(server);
    EXPECT_EQ(got.value_or(""), "hello");
    l->close();
    EXPECT_FALSE(exists(path));  // the listener removed its path
  };
  run(body());
  rmdir(path.substr(0, path.rfind('/')).c_str());
}

TEST(net_unix, connect_errors_are_values) {
  auto body = []() -> task<void> {
    auto missing = co_await unix_stream::connect("/tmp/weft-no-such-dir/none.sock");
    CO_ASSERT_TRUE(!missing);
    EXPECT_EQ(missing.error(), std::errc::no_such_file_or_directory);
    auto too_long = co_await unix_stream::connect(std::string(200, 'x'));
    CO_ASSERT_TRUE(!too_long);
    EXPECT_EQ(too_long.error(), errc::invalid_argument);
  };
  run(body());
}

TEST(net_unix, socketpair_and_eof) {
  auto body = []() -> task<void> {
    auto p = unix_stream::pair();
    CO_ASSERT_TRUE(p.has_value());
    co_await p->first.write_all("x");
    p->first.close();
    char buf[4];
    auto n = co_await p->second.read_some(buf);
    CO_ASSERT_TRUE(n.has_value());
    EXPECT_EQ(*n, 1u);
    auto eof = co_await p->second.read_some(buf);
    CO_ASSERT_TRUE(eof.has_value());
    EXPECT_EQ(*eof, 0u);
  };
  run(body());
}

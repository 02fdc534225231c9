#include <weft/error.hpp>

#include <gtest/gtest.h>

#include <system_error>

TEST(error_codes, category_and_messages) {
  std::error_code ec = weft::errc::timed_out;
  EXPECT_STREQ(ec.category().name(), "weft");
  EXPECT_EQ(ec.message(), "operation timed out");
  EXPECT_EQ(std::error_code(weft::errc::operation_canceled).message(), "operation canceled");
  EXPECT_EQ(std::error_code(weft::errc::ok).message(), "success");
  EXPECT_NE(std::error_code(static_cast<weft::errc>(999)).message().find("999"), std::string::npos);
}

TEST(error_codes, portable_conditions) {
  std::error_code ec = weft::errc::timed_out;
  EXPECT_TRUE(ec == std::errc::timed_out);
  EXPECT_TRUE(std::error_code(weft::errc::operation_canceled) == std::errc::operation_canceled);
  EXPECT_FALSE(std::error_code(weft::errc::channel_closed) == std::errc::timed_out);
}

TEST(error_codes, result_holds_value_or_error) {
  weft::result<int> good = 7;
  weft::result<int> bad = weft::fail(weft::errc::timed_out);
  ASSERT_TRUE(good);
  EXPECT_EQ(*good, 7);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), weft::errc::timed_out);
  static_assert(weft::is_result_v<weft::result<int>>);
  static_assert(!weft::is_result_v<int>);
}

// A spawned child inherits its standard streams only: both ways of closing the rest (closefrom on
// glibc 2.34 and later, the /proc/self/fd listing before it) are run here against a real /bin/sh.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "process/inherit.hpp"

extern char** environ;

namespace {

/// Spawns `/bin/sh -c 'test -e /proc/self/fd/FD'` (a shell builtin, so /proc/self is the child itself)
/// with `add` applied to the file actions; true if the child had `fd` open.
template <class Add>
bool child_has(int fd, Add add) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  EXPECT_EQ(add(&actions), 0);
  std::string script = "test -e /proc/self/fd/" + std::to_string(fd);
  char sh[] = "/bin/sh";
  char c[] = "-c";
  char* argv[] = {sh, c, script.data(), nullptr};
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int nothing(posix_spawn_file_actions_t*) { return 0; }

struct open_pipes {
  int inheritable[2] = {-1, -1};  // no close-on-exec
  int cloexec[2] = {-1, -1};
  open_pipes() {
    EXPECT_EQ(::pipe(inheritable), 0);
    EXPECT_EQ(::pipe2(cloexec, O_CLOEXEC), 0);
  }
  ~open_pipes() {
    for (int fd : {inheritable[0], inheritable[1], cloexec[0], cloexec[1]}) ::close(fd);
  }
};

}  // namespace

TEST(close_inherited, without_it_the_child_inherits_a_descriptor_opened_without_cloexec) {
  open_pipes p;
  EXPECT_TRUE(child_has(p.inheritable[1], nothing));  // the control: the probe sees an inherited one
  EXPECT_FALSE(child_has(p.cloexec[1], nothing));
  EXPECT_TRUE(child_has(1, nothing));
}

TEST(close_inherited, the_listing_closes_all_but_the_standard_streams) {
  open_pipes p;
  EXPECT_FALSE(child_has(p.inheritable[0], weft::detail::close_by_listing));
  EXPECT_FALSE(child_has(p.inheritable[1], weft::detail::close_by_listing));
  EXPECT_FALSE(child_has(p.cloexec[1], weft::detail::close_by_listing));
  EXPECT_TRUE(child_has(1, weft::detail::close_by_listing));
  EXPECT_TRUE(child_has(2, weft::detail::close_by_listing));
}

TEST(close_inherited, the_chosen_way_closes_all_but_the_standard_streams) {
  open_pipes p;
  EXPECT_FALSE(child_has(p.inheritable[1], weft::detail::close_inherited));
  EXPECT_TRUE(child_has(2, weft::detail::close_inherited));
}

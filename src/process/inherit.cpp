#include "process/inherit.hpp"

#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <cstdlib>

namespace weft::detail {

int close_inherited(posix_spawn_file_actions_t* actions) noexcept {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  return posix_spawn_file_actions_addclosefrom_np(actions, 3);
#else
  return close_by_listing(actions);
#endif
}

int close_by_listing(posix_spawn_file_actions_t* actions) noexcept {
  DIR* dir = ::opendir("/proc/self/fd");  // opened with close-on-exec
  if (dir == nullptr) return errno;
  int listing = ::dirfd(dir);
  int rc = 0;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd < 3 || fd == listing) continue;  // ".", "..", the streams
    int flags = ::fcntl(static_cast<int>(fd), F_GETFD);
    if (flags < 0 || (flags & FD_CLOEXEC) != 0) continue;
    rc = posix_spawn_file_actions_addclose(actions, static_cast<int>(fd));
    if (rc != 0) break;
  }
  ::closedir(dir);
  return rc;
}

}  // namespace weft::detail

#include "model/fiber.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace weft::model::engine {
namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::abort();
}

std::size_t page_size() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

}  // namespace

stack_pool::~stack_pool() {
  for (void* s : all_) munmap(static_cast<char*>(s) - page_size(), stack_size + page_size());
}

void* stack_pool::take() {
  if (!free_.empty()) {
    void* s = free_.back();
    free_.pop_back();
    return s;
  }
  std::size_t guard = page_size();
  void* region = mmap(nullptr, stack_size + guard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) die("model checker: mmap");
  if (mprotect(region, guard, PROT_NONE) != 0) die("model checker: mprotect");
  void* s = static_cast<char*>(region) + guard;
  all_.push_back(s);
  return s;
}

void fiber::prepare(void (*entry)(), void* stack) {
  if (getcontext(&context_) != 0) die("model checker: getcontext");
  context_.uc_stack.ss_sp = stack;
  context_.uc_stack.ss_size = stack_pool::stack_size;
  context_.uc_link = nullptr;  // entry never returns: a finished thread switches away for good
  makecontext(&context_, entry, 0);
}

void fiber::switch_to(fiber& from, fiber& to) {
  if (swapcontext(&from.context_, &to.context_) != 0) die("model checker: swapcontext");
}

}  // namespace weft::model::engine

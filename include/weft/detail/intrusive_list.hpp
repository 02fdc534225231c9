// A doubly linked list through `prev`/`next` members of its elements: O(1) push, remove and pop, no
// allocation. Shared by the sync primitives' waiter lists and the blocking pool's queue.
#pragma once

namespace weft::detail {

template <class T>
struct intrusive_list {
  T* head = nullptr;
  T* tail = nullptr;

  bool empty() const noexcept { return head == nullptr; }

  void push_back(T* x) noexcept {
    x->next = nullptr;
    x->prev = tail;
    if (tail != nullptr) {
      tail->next = x;
    } else {
      head = x;
    }
    tail = x;
  }

  void remove(T* x) noexcept {
    if (x->prev != nullptr) {
      x->prev->next = x->next;
    } else {
      head = x->next;
    }
    if (x->next != nullptr) {
      x->next->prev = x->prev;
    } else {
      tail = x->prev;
    }
    x->prev = x->next = nullptr;
  }

  T* pop_front() noexcept {
    T* x = head;
    if (x != nullptr) remove(x);
    return x;
  }
};

}  // namespace weft::detail

// A vector of trivially copyable T that keeps its first N elements inline: the usual handful of
// header fields costs no allocation. Only what weft::http::headers needs.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace weft::detail {

template <class T, std::size_t N>
class small_vec {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  small_vec() noexcept {}  // user-provided: `{}` must not zero the inline storage
  small_vec(const small_vec& o) { append(o.data(), o.size_); }
  small_vec(small_vec&& o) noexcept { take(o); }
  small_vec& operator=(const small_vec& o) {
    if (this != &o) {
      size_ = 0;
      append(o.data(), o.size_);
    }
    return *this;
  }
  small_vec& operator=(small_vec&& o) noexcept {
    if (this != &o) {
      release();
      take(o);
    }
    return *this;
  }
  ~small_vec() { release(); }

  T* data() noexcept { return heap_ != nullptr ? heap_ : inline_; }
  const T* data() const noexcept { return heap_ != nullptr ? heap_ : inline_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }
  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + size_; }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + size_; }

  void clear() noexcept { size_ = 0; }
  void resize_down(std::size_t n) noexcept { size_ = n < size_ ? n : size_; }
  void push_back(const T& v) { append(&v, 1); }
  void append(const T* p, std::size_t n) {
    if (size_ + n > cap_) grow(size_ + n);
    if (n > 0) std::memcpy(static_cast<void*>(data() + size_), p, n * sizeof(T));
    size_ += n;
  }

 private:
  void grow(std::size_t need) {
    std::size_t cap = cap_ * 2 > need ? cap_ * 2 : need;
    auto* p = static_cast<T*>(std::malloc(cap * sizeof(T)));
    if (p == nullptr) throw std::bad_alloc();
    if (size_ > 0) std::memcpy(static_cast<void*>(p), data(), size_ * sizeof(T));
    std::free(heap_);
    heap_ = p;
    cap_ = cap;
  }
  void release() noexcept {
    if (heap_ != nullptr) std::free(heap_);  // most never leave the inline storage: skip the call
    heap_ = nullptr;
    cap_ = N;
    size_ = 0;
  }
  void take(small_vec& o) noexcept {
    size_ = o.size_;
    if (o.heap_ != nullptr) {
      heap_ = std::exchange(o.heap_, nullptr);
      cap_ = std::exchange(o.cap_, N);
    } else {
      if (size_ > 0) std::memcpy(static_cast<void*>(inline_), o.inline_, size_ * sizeof(T));
    }
    o.size_ = 0;
  }

  T* heap_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = N;
  T inline_[N];
};

}  // namespace weft::detail

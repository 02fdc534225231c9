// Per-task costs: weft against Boost.Asio, in one binary, one run (bench/run.sh prints the ratios).
//
//   spawn_join   spawn a trivial task, let it complete, join it          (weft)
//   spawn_batch  spawn 1024 trivial tasks, then join them all            (weft)
//   post         post a trivial handler, run it (batches of 1024)        (Asio's cheapest unit of work)
//   co_spawn     co_spawn a trivial awaitable, run it (batches of 1024)  (Asio's coroutine task)
//   yield        one task yields to the loop and is resumed              (weft yield_now; Asio: post from a coroutine)
#include <benchmark/benchmark.h>
#include <weft/weft.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <vector>

namespace asio = boost::asio;

namespace {

constexpr int batch = 1024;

weft::task<void> trivial(long& n) {
  ++n;
  co_return;
}

void weft_spawn_join(benchmark::State& state) {
  long n = 0;
  auto body = [&]() -> weft::task<void> {
    for (auto _ : state) co_await weft::spawn(trivial(n));
  };
  weft::run(body());
  benchmark::DoNotOptimize(n);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(weft_spawn_join);

void weft_spawn_batch(benchmark::State& state) {
  long n = 0;
  auto body = [&]() -> weft::task<void> {
    std::vector<weft::join_handle<void>> handles;
    handles.reserve(batch);
    for (auto _ : state) {
      handles.push_back(weft::spawn(trivial(n)));
      if (handles.size() == batch) {
        for (auto& h : handles) co_await std::move(h);
        handles.clear();
      }
    }
    for (auto& h : handles) co_await std::move(h);
  };
  weft::run(body());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(weft_spawn_batch);

void asio_post(benchmark::State& state) {
  asio::io_context ctx(1);
  long n = 0;
  int pending = 0;
  for (auto _ : state) {
    asio::post(ctx, [&n] { ++n; });
    if (++pending == batch) {
      ctx.run();
      ctx.restart();
      pending = 0;
    }
  }
  ctx.run();
  benchmark::DoNotOptimize(n);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(asio_post);

asio::awaitable<void> asio_trivial(long& n) {
  ++n;
  co_return;
}

void asio_co_spawn(benchmark::State& state) {
  asio::io_context ctx(1);
  long n = 0;
  int pending = 0;
  for (auto _ : state) {
    asio::co_spawn(ctx, asio_trivial(n), asio::detached);
    if (++pending == batch) {
      ctx.run();
      ctx.restart();
      pending = 0;
    }
  }
  ctx.run();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(asio_co_spawn);

void weft_yield(benchmark::State& state) {
  auto body = [&]() -> weft::task<void> {
    for (auto _ : state) {
      auto r = co_await weft::yield_now();
      benchmark::DoNotOptimize(r);
    }
  };
  weft::run(body());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(weft_yield);

void asio_yield(benchmark::State& state) {
  asio::io_context ctx(1);
  auto body = [&]() -> asio::awaitable<void> {
    for (auto _ : state) co_await asio::post(ctx, asio::use_awaitable);
  };
  asio::co_spawn(ctx, body(), asio::detached);
  ctx.run();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(asio_yield);

}  // namespace

BENCHMARK_MAIN();

"""Checks a weft trace (runtime_options::trace_file, WEFT_TRACE) the way a viewer would read it, and prints
a summary as JSON: {"tasks": {name: {"slices": n, "parent": name, "tracks": [tid...]}}, "workers": n,
"dropped": n}. Exits 1, saying why, if the file breaks what Perfetto needs:
- it is JSON, with a traceEvents list;
- on each worker track, run slices ("X") never overlap (one at a time per thread);
- every task has one begin ("b") and one end ("e"), its run slices fall between them, and its parent
  is a task of the trace (or none);
- every run slice belongs to a task that began;
- every wake arrow's end ("f") has its start ("s"), no later than the end, and binds to a run slice
  of the woken task that starts there;
- spans inside a task (an HTTP request: "b"/"e" with the task's id, named after the request, without a
  parent) begin and end in pairs, within their task's begin and end.
Usage: trace_check.py FILE [--ran PROGRAM ARGS...]   (with --ran, runs PROGRAM with WEFT_TRACE=FILE first)
"""
import collections
import json
import os
import subprocess
import sys


def fail(why):
    print(f"trace_check: {why}", file=sys.stderr)
    sys.exit(1)


def main():
    path = sys.argv[1]
    if len(sys.argv) > 3 and sys.argv[2] == "--ran":
        env = dict(os.environ, WEFT_TRACE=path)
        subprocess.run(sys.argv[3:], env=env, check=True, stdout=subprocess.DEVNULL, timeout=120)
    try:
        doc = json.load(open(path))
    except ValueError as e:
        fail(f"not JSON: {e}")
    events = doc.get("traceEvents")
    if not isinstance(events, list):
        fail("no traceEvents list")
    begins, ends, slices = {}, {}, collections.defaultdict(list)
    span_begins, span_ends = collections.defaultdict(list), collections.defaultdict(list)  # (id, name): [ts]
    by_track = collections.defaultdict(list)
    workers = set()
    compute = set()  # the compute threads' tracks: parallel_for chunks, run for a task elsewhere
    flow_starts, flow_ends = {}, []
    instants = {}
    # Task begins first: a span's events may come before its task's begin in the file.
    for e in events:
        if e.get("ph") == "b" and "parent" in e.get("args", {}):
            if e["id"] in begins:
                fail(f"task {e['id']} begins twice")
            begins[e["id"]] = e
    for e in events:
        ph = e.get("ph")
        if ph == "M" and e.get("name") == "thread_name" and e["args"]["name"].startswith("worker "):
            workers.add(e["tid"])
        elif ph == "M" and e.get("name") == "thread_name" and e["args"]["name"].startswith("compute "):
            compute.add(e["tid"])
        elif ph == "b" and "parent" not in e.get("args", {}):
            span_begins[(e["id"], e["name"])].append(e["ts"])
        elif ph == "e" and e["id"] in begins and e["name"] != begins[e["id"]]["name"]:
            span_ends[(e["id"], e["name"])].append(e["ts"])
        elif ph == "e":
            if e["id"] in ends:
                fail(f"task {e['id']} ends twice")
            ends[e["id"]] = e
        elif ph == "i":
            instants[e["name"]] = instants.get(e["name"], 0) + 1
        elif ph == "s":
            flow_starts[e["id"]] = e
        elif ph == "f":
            flow_ends.append(e)
        elif ph == "X":
            slices[e["args"]["task"]].append(e)
            by_track[e["tid"]].append(e)
    dropped = int(doc.get("otherData", {}).get("dropped_events", "0"))
    if dropped:  # past the size bound: only the JSON's shape is promised
        print(json.dumps({"tasks": {}, "workers": len(workers), "dropped": dropped}))
        return
    for tid, xs in by_track.items():
        xs.sort(key=lambda x: x["ts"])
        for a, b in zip(xs, xs[1:]):
            if b["ts"] < a["ts"] + a["dur"] - 0.002:  # microseconds, printed to the nanosecond
                fail(f"slices overlap on track {tid}: {a} and {b}")
    for task, xs in slices.items():
        if task not in begins:
            fail(f"task {task} runs but never began")
        if xs[0]["name"] != begins[task]["name"]:
            fail(f"task {task}'s slices are named {xs[0]['name']!r}, its track {begins[task]['name']!r}")
    for task, b in begins.items():
        if task not in ends:
            fail(f"task {task} ({b['name']}) never ends")
        xs = slices.get(task, [])
        if xs and (min(x["ts"] for x in xs) < b["ts"] or ends[task]["ts"] < max(x["ts"] + x["dur"] for x in xs) - 0.002):
            fail(f"task {task}'s slices are not within its begin and end")
        parent = b["args"]["parent"]
        if parent != 0 and parent not in begins:
            fail(f"task {task}'s parent {parent} is not in the trace")
    slice_starts = {(x["tid"], x["ts"]): x for xs in by_track.values() for x in xs}
    for f in flow_ends:
        s = flow_starts.get(f["id"])
        if s is None:
            fail(f"wake arrow {f['id']} ends but never starts")
        if s["ts"] > f["ts"] + 0.002:
            fail(f"wake arrow {f['id']} ends before it starts")
        x = slice_starts.get((f["tid"], f["ts"]))
        if x is None or x["args"].get("woken_by") != "task" or str(x["args"]["task"]) != f["id"].split(".")[0]:
            fail(f"wake arrow {f['id']} does not end at a slice of the task it woke")
    spans = 0
    for (task, name), starts in span_begins.items():
        stops = span_ends.get((task, name), [])
        if len(stops) != len(starts):
            fail(f"span {name!r} of task {task} begins {len(starts)} times and ends {len(stops)}")
        if task not in begins:
            fail(f"span {name!r} belongs to task {task}, which never began")
        if min(starts) < begins[task]["ts"] - 0.002 or max(stops) > ends[task]["ts"] + 0.002:
            fail(f"span {name!r} is not within task {task}'s begin and end")
        spans += len(starts)
    tasks = {}
    for task, b in begins.items():
        parent = b["args"]["parent"]
        entry = tasks.setdefault(b["name"], {"slices": 0, "parent": None, "tracks": []})
        entry["slices"] += len(slices.get(task, []))
        entry["parent"] = begins[parent]["name"] if parent in begins else None
        entry["tracks"] = sorted(set(entry["tracks"]) | {x["tid"] for x in slices.get(task, [])})
        # What each slice ended waiting on, in order ("" for a slice that ended the task).
        entry["waits"] = [x["args"].get("suspended_on", "") for x in sorted(slices.get(task, []), key=lambda x: x["ts"])
                          if x["tid"] not in compute]
    woken = collections.Counter(x["args"].get("woken_by") for xs in by_track.values() for x in xs)
    del woken[None]
    print(json.dumps({"tasks": tasks, "workers": len(workers), "dropped": dropped, "spans": spans,
                      "arrows": len(flow_ends),
                      "compute_slices": sum(len(by_track[t]) for t in compute), "woken_by": dict(woken), "instants": instants}, sort_keys=True))


main()

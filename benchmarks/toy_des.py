"""The speed ceiling: a toy event loop of the simulator's shape (a heap of CPU clocks, per-CPU
free lists, one lock with batched refills and drains), copied unchanged from the project's
shared bench (shared/bench/toy_des.py) so a clone can measure against it.
`benchmarks/bench_simulator.py` runs it beside the simulator and prints the ratio."""

# ruff: noqa
import numpy as np, numba as nb, time


@nb.njit(cache=True)
def run(ncpu, nops, seed):
    np.random.seed(seed)
    # heap of cpu clocks
    heap_t = np.zeros(ncpu); heap_c = np.arange(ncpu)
    n = ncpu
    pcp_count = np.zeros(ncpu, np.int64)
    # intrusive free list (stack) per cpu, page arrays
    npages = 1 << 22
    nxt = np.full(npages, -1, np.int64)
    head = np.full(ncpu, -1, np.int64)
    zone_head = 0
    for i in range(npages - 1): nxt[i] = i + 1
    lock_free = 0.0; wait = 0.0; acq = 0
    held = np.full(ncpu * 4096, -1, np.int64); nheld = np.zeros(ncpu, np.int64)
    for op in range(nops):
        # pop min
        t = heap_t[0]; c = heap_c[0]
        n -= 1
        heap_t[0] = heap_t[n]; heap_c[0] = heap_c[n]
        i = 0
        while True:
            l = 2*i+1
            if l >= n: break
            r = l+1; m = l
            if r < n and heap_t[r] < heap_t[l]: m = r
            if heap_t[m] < heap_t[i]:
                heap_t[m], heap_t[i] = heap_t[i], heap_t[m]; heap_c[m], heap_c[i] = heap_c[i], heap_c[m]; i = m
            else: break
        cost = 30.0
        if nheld[c] > 0 and (np.random.random() < 0.5 or nheld[c] >= 4000):
            # free to pcp
            nheld[c] -= 1; p = held[c*4096 + nheld[c]]
            nxt[p] = head[c]; head[c] = p; pcp_count[c] += 1
            if pcp_count[c] > 500:
                w = lock_free - t
                if w < 0: w = 0.0
                wait += w; acq += 1
                for k in range(63):
                    p = head[c]; head[c] = nxt[p]; nxt[p] = zone_head; zone_head = p
                pcp_count[c] -= 63
                lock_free = t + w + 63*35.0; cost += w + 63*35.0
        else:
            if head[c] < 0:
                w = lock_free - t
                if w < 0: w = 0.0
                wait += w; acq += 1
                for k in range(63):
                    p = zone_head; zone_head = nxt[p]; nxt[p] = head[c]; head[c] = p
                pcp_count[c] += 63
                lock_free = t + w + 63*35.0; cost += w + 63*35.0
            p = head[c]; head[c] = nxt[p]; pcp_count[c] -= 1
            held[c*4096 + nheld[c]] = p; nheld[c] += 1
        t += cost + 700.0
        # push
        heap_t[n] = t; heap_c[n] = c; i = n; n += 1
        while i > 0:
            pa = (i-1)//2
            if heap_t[pa] > heap_t[i]:
                heap_t[pa], heap_t[i] = heap_t[i], heap_t[pa]; heap_c[pa], heap_c[i] = heap_c[i], heap_c[pa]; i = pa
            else: break
    return wait, acq


if __name__ == "__main__":
    run(64, 1000, 1)
    for ncpu in (64, 1024):
        t = time.perf_counter(); w, a = run(ncpu, 20_000_000, 1); dt = time.perf_counter() - t
        print(ncpu, f"{20e6/dt/1e6:.1f}M ops/s", a)

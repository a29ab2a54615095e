// hnswlib_native.cpp - hnswlib (Debian's libhnswlib-dev headers, 0.6.2)
// compiled for this machine (-O3 -march=native, see mk/build.mk), on the
// same .fvecs/.ivecs files as bench_index: the peer a user who builds
// hnswlib from source would run, not the generic x86-64 Python wheel.
//
//   hnswlib_native DIR [--m 32] [--efc 200] [--ef 16,32,64,128,256]
//                  [--threads 1] [--save FILE | --load FILE] [--nq N]
//
// Reads DIR/base.fvecs, DIR/query.fvecs, DIR/gt.ivecs (written by
// bench_index), builds an inner-product HNSW graph (points added in row
// order; with --threads T, T threads take the rows in order as hnswlib's
// Python binding does) or loads a saved one, then for each ef times one
// single-query searchKnn per query on one thread, after one warm-up query.
// Prints the same tab-separated rows as bench_index: row, build_s, mem_mb,
// qps, recall@10, p50_us, p99_us, rss_mb, build_cpu_s.  mem_mb is what the
// index allocates: per element the data block (vector, level-0 links, label)
// and a link-list pointer, plus the upper-level link lists.
#include <hnswlib/hnswlib.h>

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

static double now_s()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_s()
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static double peak_rss_mb()
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

// .fvecs / .ivecs: per row an int32 dimension, then that many 4-byte values.
template <typename T>
static std::vector<T> read_vecs(const std::string &path, size_t *n, size_t *d)
{
    FILE *f = fopen(path.c_str(), "rb");
    if (!f) {
        fprintf(stderr, "hnswlib_native: cannot open %s\n", path.c_str());
        exit(1);
    }
    int32_t dim;
    std::vector<T> out;
    *n = 0;
    *d = 0;
    while (fread(&dim, 4, 1, f) == 1) {
        if (dim <= 0 || (*d && (size_t)dim != *d)) {
            fprintf(stderr, "hnswlib_native: %s: bad row %zu\n", path.c_str(), *n);
            exit(1);
        }
        *d = (size_t)dim;
        size_t at = out.size();
        out.resize(at + *d);
        if (fread(out.data() + at, sizeof(T), *d, f) != *d) {
            fprintf(stderr, "hnswlib_native: %s: truncated\n", path.c_str());
            exit(1);
        }
        ++*n;
    }
    fclose(f);
    return out;
}

static std::vector<int> parse_list(const char *s)
{
    std::vector<int> v;
    while (*s) {
        char *end;
        long x = strtol(s, &end, 10);
        if (end == s || x < 1) {
            fprintf(stderr, "hnswlib_native: bad list '%s'\n", s);
            exit(2);
        }
        v.push_back((int)x);
        s = *end ? end + 1 : end;
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: hnswlib_native DIR [--m M] [--efc E] [--ef 16,32,...] "
                        "[--threads T] [--save FILE | --load FILE] [--nq N]\n");
        return 2;
    }
    std::string dir = argv[1], save, load;
    int M = 32, efc = 200, threads = 1;
    size_t nq_max = 0;
    std::vector<int> efs = {16, 32, 64, 128, 256};
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--m") M = atoi(argv[i + 1]);
        else if (a == "--efc") efc = atoi(argv[i + 1]);
        else if (a == "--ef") efs = parse_list(argv[i + 1]);
        else if (a == "--threads") threads = atoi(argv[i + 1]);
        else if (a == "--save") save = argv[i + 1];
        else if (a == "--load") load = argv[i + 1];
        else if (a == "--nq") nq_max = strtoul(argv[i + 1], nullptr, 10);
        else {
            fprintf(stderr, "hnswlib_native: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    size_t n, d, nq, dq, nt, k;
    std::vector<float> base = read_vecs<float>(dir + "/base.fvecs", &n, &d);
    std::vector<float> q = read_vecs<float>(dir + "/query.fvecs", &nq, &dq);
    std::vector<int32_t> gt = read_vecs<int32_t>(dir + "/gt.ivecs", &nt, &k);
    if (dq != d || nt != nq || k < 10) {
        fprintf(stderr, "hnswlib_native: the files of %s do not match\n", dir.c_str());
        return 1;
    }
    if (nq_max && nq_max < nq)
        nq = nq_max;

    hnswlib::InnerProductSpace space(d);
    hnswlib::HierarchicalNSW<float> *ix;
    double build_s = 0, build_cpu = 0;
    if (!load.empty()) {
        ix = new hnswlib::HierarchicalNSW<float>(&space, load, false, n);
    } else {
        ix = new hnswlib::HierarchicalNSW<float>(&space, n, M, efc, 100);
        double t0 = now_s(), c0 = cpu_s();
        if (threads <= 1) {
            for (size_t i = 0; i < n; i++)
                ix->addPoint(base.data() + i * d, i);
        } else {
            // as the Python binding's ParallelFor: the first point alone,
            // then threads claim rows in order
            ix->addPoint(base.data(), 0);
            std::atomic<size_t> next(1);
            std::vector<std::thread> th;
            for (int t = 0; t < threads; t++)
                th.emplace_back([&] {
                    for (size_t i; (i = next.fetch_add(1)) < n;)
                        ix->addPoint(base.data() + i * d, i);
                });
            for (auto &t : th)
                t.join();
        }
        build_s = now_s() - t0;
        build_cpu = cpu_s() - c0;
        if (!save.empty())
            ix->saveIndex(save);
    }
    size_t mem = ix->cur_element_count * (ix->size_data_per_element_ + sizeof(void *));
    for (size_t i = 0; i < ix->cur_element_count; i++)
        mem += ix->element_levels_[i] * ix->size_links_per_element_;

    printf("# hnswlib %s build: n %zu dim %zu M %zu efc %zu threads %d compiled%s%s%s\n",
           load.empty() ? "native" : "loaded", n, d, ix->M_, ix->ef_construction_, threads,
#ifdef USE_AVX512
           " avx512",
#else
           "",
#endif
#ifdef USE_AVX
           " avx",
#else
           "",
#endif
#ifdef USE_SSE
           " sse"
#else
           ""
#endif
    );
    std::vector<double> lat(nq);
    for (int ef : efs) {
        ix->setEf(ef);
        ix->searchKnn(q.data(), 10);   // warm-up
        size_t hits = 0;
        double t_all = now_s();
        for (size_t i = 0; i < nq; i++) {
            double t0 = now_s();
            auto res = ix->searchKnn(q.data() + i * d, 10);
            lat[i] = (now_s() - t0) * 1e6;
            while (!res.empty()) {
                size_t id = res.top().second;
                res.pop();
                for (size_t j = 0; j < 10; j++)
                    if ((size_t)gt[i * k + j] == id) {
                        hits++;
                        break;
                    }
            }
        }
        double secs = now_s() - t_all;
        std::sort(lat.begin(), lat.end());
        // nearest-rank percentiles, as stats_percentile
        size_t i50 = (size_t)(0.50 * nq + 0.999999) - 1, i99 = (size_t)(0.99 * nq + 0.999999) - 1;
        printf("hnswlib ef=%d\t%.2f\t%.1f\t%.1f\t%.4f\t%.1f\t%.1f\t%.0f\t%.2f\n", ef, build_s,
               mem / 1048576.0, nq / secs, (double)hits / (nq * 10.0), lat[i50], lat[i99],
               peak_rss_mb(), build_cpu);
        fflush(stdout);
    }
    delete ix;
    return 0;
}

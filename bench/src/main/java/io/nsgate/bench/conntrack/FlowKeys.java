// Synthetic flow keys for the table benchmarks, and the key object the ConcurrentHashMap baseline needs.
package io.nsgate.bench.conntrack;

import java.util.SplittableRandom;

/**
 * Keys of n TCP flows (distinct sources towards one server) plus n keys that are never inserted. Benchmarks walk
 * these arrays in order (cheap, prefetched sequential reads); the table's hash scatters the lookups themselves
 * over its memory, as independent packets do.
 */
final class FlowKeys {
    static final int PROTO = 6;
    static final int SERVER = 0xC0A80103;
    static final int GATEWAY = 0xC0A80102;

    final int[] src;
    final int[] sport;
    final int[] missSrc;

    FlowKeys(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        src = new int[n];
        sport = new int[n];
        missSrc = new int[n];
        for (int i = 0; i < n; i++) {
            src[i] = 0x0A000000 + i;
            sport[i] = 1024 + rnd.nextInt(60000);
            missSrc[i] = 0x0B000000 + i;
        }
    }

    /** The key object a map-based table needs; hashCode like a record's. */
    record Key(int proto, int src, int dst, int sport, int dport) {
    }
}

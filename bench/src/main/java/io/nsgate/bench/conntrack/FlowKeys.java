// Synthetic flow keys for the table benchmarks, and the key object the ConcurrentHashMap baseline needs.
package io.nsgate.bench.conntrack;

import java.util.SplittableRandom;

/**
 * Keys of n TCP flows (distinct sources towards one server) plus n keys that are never inserted, in two orders:
 * {@code src/sport} in insertion order, and {@code lookupSrc/lookupSport/lookupMissSrc} in a random permutation of
 * it. Benchmarks walk the lookup arrays sequentially (cheap, prefetched reads) so that what is measured is the
 * table's own memory traffic, with lookups in no relation to the order flows were created in, as with packets.
 */
final class FlowKeys {
    static final int PROTO = 6;
    static final int SERVER = 0xC0A80103;
    static final int GATEWAY = 0xC0A80102;

    final int[] src;
    final int[] sport;
    final int[] missSrc;
    final int[] lookupSrc;
    final int[] lookupSport;
    final int[] lookupMissSrc;

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
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        lookupSrc = new int[n];
        lookupSport = new int[n];
        lookupMissSrc = new int[n];
        for (int i = 0; i < n; i++) {
            lookupSrc[i] = src[order[i]];
            lookupSport[i] = sport[order[i]];
            lookupMissSrc[i] = missSrc[order[i]];
        }
    }

    /** The key object a map-based table needs; hashCode like a record's. */
    record Key(int proto, int src, int dst, int sport, int dport) {
    }
}

// Marks a test class that needs bpf(2) (root or CAP_BPF): it fails, not skips, naming the cause when bpf is unusable.
package io.nsgate.dataplane.testsupport;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Backed by {@code Bpf.isAvailable()/unavailabilityCause()}. CI runs as root, so a missing capability is a failure
 * naming the cause; {@code -Dnsgate.allowSkip=true} turns it into an aborted (skipped) test for developers without
 * root.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(BpfAvailability.class)
public @interface RequiresBpf {
}

// Marks a test class that needs bpf(2) (root or CAP_BPF): it fails, not skips, naming the cause when bpf is unusable.
package io.nsgate.testkit;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/** Backed by {@link BpfRequirement}; {@code -Dnsgate.allowSkip=true} skips instead (see {@link Requirement}). */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(BpfRequirement.class)
public @interface RequiresBpf {
}

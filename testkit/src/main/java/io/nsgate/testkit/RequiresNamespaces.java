// Marks a test class that builds namespaces: it fails (not skips) with the cause without root or iproute2's ip.
package io.nsgate.testkit;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/** Backed by {@link NamespacesRequirement}; {@code -Dnsgate.allowSkip=true} skips instead (see {@link Requirement}). */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(NamespacesRequirement.class)
public @interface RequiresNamespaces {
}

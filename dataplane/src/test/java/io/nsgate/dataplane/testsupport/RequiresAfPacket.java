// Marks a test class that needs root, namespaces and AF_PACKET: it fails (not skips) with the cause when missing.
package io.nsgate.dataplane.testsupport;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Backed by {@link AfPacketRequirement}: CI runs as root, so a missing capability fails the class naming the cause;
 * {@code -Dnsgate.allowSkip=true} turns that into an aborted (skipped) test for developers without root.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(AfPacketRequirement.class)
public @interface RequiresAfPacket {
}

// The JUnit extension behind @RequiresAfPacket: probes once, then fails or (with -Dnsgate.allowSkip=true) aborts.
package io.nsgate.dataplane.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import io.nsgate.dataplane.io.AfPacketPort;
import io.nsgate.linux.sys.Syscalls;

/** Fails the test class with the probe's cause; skipping is opt-in and never the default. */
public final class AfPacketAvailability implements BeforeAllCallback {

    /** Why AF_PACKET namespace tests cannot run here, or null. */
    public static String unavailabilityCause() {
        if (!Syscalls.isAvailable()) {
            return Syscalls.unavailabilityCause();
        }
        if (Syscalls.geteuid() != 0) {
            return "not running as root (euid " + Syscalls.geteuid() + "): creating namespaces and veth pairs needs"
                + " CAP_SYS_ADMIN and CAP_NET_ADMIN";
        }
        String cause = AfPacketPort.unavailabilityCause();
        if (cause != null) {
            return cause;
        }
        boolean haveIp = List.of("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip").stream()
            .anyMatch(p -> Files.isExecutable(Path.of(p)));
        return haveIp ? null
            : "iproute2's ip (the test builder and oracle) is not installed: run scripts/ensure-deps test";
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        String cause = unavailabilityCause();
        if (cause == null) {
            return;
        }
        String message = context.getDisplayName() + " needs root, network namespaces and AF_PACKET: " + cause;
        if (Boolean.getBoolean("nsgate.allowSkip")) {
            Assumptions.abort(message + " (skipped because -Dnsgate.allowSkip=true)");
        }
        Assertions.fail(message + " (run as root, or pass -Dnsgate.allowSkip=true to skip knowingly)");
    }
}

package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.nsgate.testkit.NetnsLab;
import io.nsgate.testkit.RequiresNamespaces;

@RequiresNamespaces
class InterfaceLockTest {
    @Test
    void oneHolderPerInterfaceAndNamespaceUntilItCloses() throws Exception {
        try (NetnsLab lab = NetnsLab.create()) {
            String a = lab.addNamespace("a");
            String b = lab.addNamespace("b");
            InterfaceLock held = lab.inside(a, () -> InterfaceLock.acquire("lan0"));
            try {
                IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> lab.inside(a, () -> InterfaceLock.acquire("lan0")));
                assertTrue(e.getMessage().startsWith("another nsgate data plane already serves lan0"), e.getMessage());
                lab.inside(a, () -> InterfaceLock.acquire("v-net-0")).close(); // another interface: another lock
                lab.inside(b, () -> InterfaceLock.acquire("lan0")).close(); // another namespace: another lock
            } finally {
                held.close();
            }
            InterfaceLock again = lab.inside(a, () -> InterfaceLock.acquire("lan0"));
            assertEquals("lan0", again.interfaceName(), "free once its holder closed it");
            again.close();
        }
    }
}

package dev.lockstep.block.nbd;

import java.net.InetAddress;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.Export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIOException;

/**
 * An export restricted to one client address refuses every other client with
 * {@code NBD_REP_ERR_POLICY}, as the secondary's {@code <disk>.replica} export does for
 * anyone but the configured peer. Uses two loopback addresses.
 */
class ExportClientRestrictionTests {

	@TempDir
	Path dir;

	@Test
	void restrictedExportAdmitsOnlyTheAllowedAddress() throws Exception {
		try (TestServer server = new TestServer(this.dir)) {
			server.addDisk("disk0.replica", 1024 * 1024);
			server.addDisk("disk0", 1024 * 1024);
			Export export = server.registry().find("disk0.replica").orElseThrow();
			export.restrictClients(InetAddress.getByName("127.0.0.1")::equals);
			try (RawConnection peer = new RawConnection("127.0.0.1", server.port())) {
				assertThat(peer.go("disk0.replica")).isEqualTo(1024 * 1024);
			}
			try (RawConnection stranger = new RawConnection("127.0.0.2", server.port())) {
				assertThatIOException().isThrownBy(() -> stranger.go("disk0.replica"))
					.withMessageContaining(Integer.toHexString(Nbd.REP_ERR_POLICY))
					.withMessageContaining("accepts only the configured peer");
			}
			try (RawConnection stranger = new RawConnection("127.0.0.2", server.port())) {
				assertThat(stranger.go("disk0")).as("other exports stay open").isEqualTo(1024 * 1024);
			}
		}
	}

}

package dev.lockstep.block.nbd;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.Export;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An export restricted to one client address refuses every other client with
 * {@code NBD_REP_ERR_POLICY}, as the secondary's {@code <disk>.replica} export
 * does for anyone but the configured peer. Uses two loopback addresses.
 */
class ExportClientRestrictionTest {

	@TempDir
	Path dir;

	@Test
	void restrictedExportAdmitsOnlyTheAllowedAddress() throws Exception {
		try (TestServer server = new TestServer(this.dir)) {
			server.addDisk("disk0.replica", 1024 * 1024);
			Export export = server.registry().find("disk0.replica").orElseThrow();
			InetAddress peer = InetAddress.getByName("127.0.0.1");
			export.restrictClients(peer::equals);
			assertThat(go(server.port(), "127.0.0.1", "disk0.replica")).isEqualTo(Nbd.REP_ACK);
			assertThat(go(server.port(), "127.0.0.2", "disk0.replica")).isEqualTo(Nbd.REP_ERR_POLICY);
			server.addDisk("disk0", 1024 * 1024);
			assertThat(go(server.port(), "127.0.0.2", "disk0")).as("other exports stay open").isEqualTo(Nbd.REP_ACK);
		}
	}

	/** Sends NBD_OPT_GO from the given local address and returns the final option reply's type. */
	private static int go(int port, String from, String export) throws IOException {
		try (Socket socket = new Socket()) {
			socket.bind(new InetSocketAddress(from, 0));
			socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
			socket.setSoTimeout(10_000);
			DataInputStream in = new DataInputStream(socket.getInputStream());
			DataOutputStream out = new DataOutputStream(socket.getOutputStream());
			in.readFully(new byte[18]);
			out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
			byte[] name = export.getBytes(StandardCharsets.UTF_8);
			out.writeLong(Nbd.OPTS_MAGIC);
			out.writeInt(Nbd.OPT_GO);
			out.writeInt(4 + name.length + 2);
			out.writeInt(name.length);
			out.write(name);
			out.writeShort(0);
			out.flush();
			while (true) {
				in.readLong();
				in.readInt();
				int type = in.readInt();
				in.readFully(new byte[in.readInt()]);
				if (type == Nbd.REP_ACK || type < 0) {
					return type;
				}
			}
		}
	}

}

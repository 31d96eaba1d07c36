package dev.lockstep.block.nbd.client;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.TestCertificates;
import dev.lockstep.block.BlockProperties;
import dev.lockstep.block.ExportRegistry;
import dev.lockstep.block.NbdTlsEngines;
import dev.lockstep.block.TestTlsBundles;
import dev.lockstep.block.file.FileBlockDevice;
import dev.lockstep.block.nbd.NbdServer;
import dev.lockstep.block.nbd.ServerTls;
import dev.lockstep.block.nbd.TestServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The client over TLS: against this server and against qemu-nbd with
 * {@code tls-creds-x509}, with mutual authentication and the server's name checked, and
 * never in plaintext when TLS is asked for.
 */
@Timeout(120)
class NbdClientTlsTests {

	private static final long MIB = 1024 * 1024;

	@TempDir
	static Path certificates;

	private static TestCertificates authority;

	private static TestCertificates.Issued server;

	private static TestCertificates.Issued primary;

	@TempDir
	Path directory;

	@BeforeAll
	static void issue() {
		authority = TestCertificates.authority(certificates.resolve("ca"), "Test CA");
		server = authority.issue("secondary", "127.0.0.1");
		primary = authority.issue("primary", "primary.example");
	}

	private static NbdClient.Options options(TestCertificates.Issued own) {
		NbdTlsEngines engines = TestTlsBundles.engines(own, BlockProperties.ClientAuth.NONE);
		return NbdClient.Options.defaults().withTls(engines::clientEngine);
	}

	@Test
	void readsAndWritesThroughLockstepsServerWithMutualAuthentication() throws Exception {
		ExportRegistry registry = new ExportRegistry();
		try (FileBlockDevice disk = FileBlockDevice.open(this.directory.resolve("disk.img"), 8 * MIB, false)) {
			registry.add("disk0.replica", disk, false, "replica")
				.restrictPeerNames(java.util.Set.of("primary.example"));
			NbdTlsEngines engines = TestTlsBundles.engines(server, BlockProperties.ClientAuth.NEED);
			try (NbdServer nbd = new NbdServer(registry, NbdServer.Settings.loopback(0),
					new ServerTls(ServerTls.Mode.REQUIRED, engines::serverEngine))) {
				nbd.start();
				InetSocketAddress address = new InetSocketAddress("127.0.0.1", nbd.port());
				assertThat(NbdClient.listExports(address, options(primary))).containsExactly("disk0.replica");
				try (NbdClient client = NbdClient.connect(address, "disk0.replica", options(primary))) {
					exercise(client);
				}
				// Another certificate from the same authority, without the allowed name
				TestCertificates.Issued stranger = authority.issue("stranger", "stranger.example");
				assertThatExceptionOfType(NbdException.class)
					.isThrownBy(() -> NbdClient.connect(address, "disk0.replica", options(stranger)));
				// In plaintext, the server asks for TLS and the export stays closed
				assertThatExceptionOfType(NbdException.class)
					.isThrownBy(() -> NbdClient.connect(address, "disk0.replica"));
			}
		}
	}

	@Test
	void refusesAServerWithoutTlsAndOneWithTheWrongName() throws Exception {
		try (TestServer plain = new TestServer(this.directory.resolve("plain"))) {
			plain.addDisk("disk0", MIB);
			InetSocketAddress address = new InetSocketAddress("127.0.0.1", plain.port());
			assertThatExceptionOfType(NbdTlsRefusedException.class)
				.isThrownBy(() -> NbdClient.connect(address, "disk0", options(primary)))
				.withMessageContaining("refused to start TLS")
				.withMessageContaining("never used in plaintext");
		}
		ExportRegistry registry = new ExportRegistry();
		try (FileBlockDevice disk = FileBlockDevice.open(this.directory.resolve("disk.img"), MIB, false)) {
			registry.add("disk0", disk, false, "disk");
			TestCertificates.Issued misnamed = authority.issue("misnamed", "elsewhere.example");
			NbdTlsEngines engines = TestTlsBundles.engines(misnamed, BlockProperties.ClientAuth.NONE);
			try (NbdServer nbd = new NbdServer(registry, NbdServer.Settings.loopback(0),
					new ServerTls(ServerTls.Mode.REQUIRED, engines::serverEngine))) {
				nbd.start();
				InetSocketAddress address = new InetSocketAddress("127.0.0.1", nbd.port());
				assertThatExceptionOfType(NbdException.class)
					.isThrownBy(() -> NbdClient.connect(address, "disk0", options(primary)))
					.withMessageContaining("TLS handshake with");
			}
		}
	}

	@Test
	void readsAndWritesThroughQemuNbdOverTls() throws Exception {
		Path image = this.directory.resolve("qemu.img");
		try (FileChannel channel = FileChannel.open(image, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
			channel.write(ByteBuffer.allocate(1), 8 * MIB - 1);
		}
		Path serverDirectory = authority.gnutlsDirectory(this.directory.resolve("qemu-tls"), server, null);
		int port;
		try (ServerSocket socket = new ServerSocket(0)) {
			port = socket.getLocalPort();
		}
		Process qemu = new ProcessBuilder("qemu-nbd", "-t", "-f", "raw", "-x", "qdisk", "-b", "127.0.0.1", "-p",
				Integer.toString(port), "--object",
				"tls-creds-x509,id=tls0,endpoint=server,verify-peer=on,dir=" + serverDirectory, "--tls-creds", "tls0",
				image.toString())
			.redirectErrorStream(true)
			.redirectOutput(this.directory.resolve("qemu-nbd.log").toFile())
			.start();
		try {
			InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
			NbdClient client = connectWithRetry(address, options(primary));
			try (client) {
				assertThat(client.size()).isEqualTo(8 * MIB);
				exercise(client);
			}
			// qemu-nbd answers a plaintext option with NBD_REP_ERR_TLS_REQD
			assertThatExceptionOfType(NbdException.class).isThrownBy(() -> NbdClient.connect(address, "qdisk"));
		}
		finally {
			qemu.destroy();
			qemu.waitFor();
		}
		byte[] bytes = Files.readAllBytes(image);
		byte[] expected = pattern();
		assertThat(Arrays.copyOfRange(bytes, (int) MIB, (int) MIB + expected.length)).isEqualTo(expected);
	}

	private static NbdClient connectWithRetry(InetSocketAddress address, NbdClient.Options options) throws Exception {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
		while (true) {
			try {
				return NbdClient.connect(address, "qdisk", options);
			}
			catch (NbdException ex) {
				if (System.nanoTime() > deadline || !String.valueOf(ex.getMessage()).startsWith("Cannot connect")) {
					throw ex;
				}
				Thread.sleep(50);
			}
		}
	}

	private static byte[] pattern() {
		byte[] data = new byte[3 * (int) MIB + 4096];
		new Random(11).nextBytes(data);
		return data;
	}

	/** Writes a pattern larger than one TLS record in pieces and reads it back. */
	private static void exercise(NbdClient client) throws IOException, Exception {
		byte[] data = pattern();
		client.write(MIB, ByteBuffer.wrap(data), false).get(30, TimeUnit.SECONDS);
		client.flush().get(30, TimeUnit.SECONDS);
		ByteBuffer back = ByteBuffer.allocate(data.length);
		client.read(MIB, back).get(30, TimeUnit.SECONDS);
		assertThat(back.array()).isEqualTo(data);
		ByteBuffer small = ByteBuffer.allocate(512);
		client.read(MIB + 100, small).get(30, TimeUnit.SECONDS);
		assertThat(small.array()).isEqualTo(Arrays.copyOfRange(data, 100, 612));
	}

}

package dev.lockstep.block;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLEngine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.util.FileSystemUtils;

import dev.lockstep.LockstepApplication;
import dev.lockstep.TestCertificates;
import dev.lockstep.block.nbd.client.NbdClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Rotation of the NBD server's certificate: with {@code reload-on-update} on its PEM
 * bundle, a node whose certificate files are replaced, one by one or as a Kubernetes
 * Secret volume is, presents the new certificate to new connections, while a connection
 * opened before goes on reading and writing.
 */
@Timeout(180)
class NbdCertificateRotationTests {

	private static final int MIB = 1024 * 1024;

	@TempDir
	Path dir;

	@Test
	void newConnectionsGetTheNewCertificateAndOpenOnesGoOn() throws Exception {
		TestCertificates authority = TestCertificates.authority(this.dir.resolve("ca"), "Test CA");
		TestCertificates.Issued first = authority.issue("node", "127.0.0.1");
		TestCertificates.Issued client = authority.issue("operator", "operator.example");
		Path tls = Files.createDirectories(this.dir.resolve("tls"));
		install(first, tls);
		int nbdPort = freePort();
		try (ConfigurableApplicationContext node = start(tls, nbdPort)) {
			InetSocketAddress address = new InetSocketAddress("127.0.0.1", nbdPort);
			BigInteger firstSerial = serial(first);
			Connection before = connect(address, client);
			try (NbdClient open = before.client()) {
				assertThat(before.serverSerial()).isEqualTo(firstSerial);
				writeAndRead(open, 0, (byte) 0x41);

				// Same authority, same names, another serial and validity.
				TestCertificates.Issued second = authority.issue("node-renewed", "127.0.0.1");
				BigInteger secondSerial = serial(second);
				assertThat(secondSerial).isNotEqualTo(firstSerial);
				install(second, tls);

				awaitServed(address, client, secondSerial, (probe) -> writeAndRead(probe, MIB, (byte) 0x42));

				// The connection opened before the rotation goes on, with the old
				// certificate, and sees what the new one wrote.
				assertThat(open.isOpen()).isTrue();
				writeAndRead(open, 2 * MIB, (byte) 0x43);
				ByteBuffer written = ByteBuffer.allocate(64 * 1024);
				open.read(MIB, written).get(10, TimeUnit.SECONDS);
				assertThat(written.array()).containsOnly((byte) 0x42);
				assertThat(before.serverSerial()).isEqualTo(firstSerial);
			}
		}
	}

	/**
	 * A Kubernetes Secret volume: each file a link into {@code ..data}, itself a link to
	 * a directory of this version, which the kubelet swaps in one rename and then
	 * deletes. Rotated twice, because a watcher that registered the first directory it
	 * resolved sees the first swap and none after.
	 */
	@Test
	void aSecretVolumeRotatedTwiceIsFollowedBothTimes() throws Exception {
		TestCertificates authority = TestCertificates.authority(this.dir.resolve("ca"), "Test CA");
		TestCertificates.Issued client = authority.issue("operator", "operator.example");
		Path tls = Files.createDirectories(this.dir.resolve("secret"));
		TestCertificates.Issued first = authority.issue("node", "127.0.0.1");
		Path version = secretVersion(tls, first, "..2026_12_03_01");
		Files.createSymbolicLink(tls.resolve("..data"), version.getFileName());
		for (String name : new String[] { "tls.crt", "tls.key", "ca.crt" }) {
			Files.createSymbolicLink(tls.resolve(name), Path.of("..data", name));
		}
		int nbdPort = freePort();
		try (ConfigurableApplicationContext node = start(tls, nbdPort)) {
			InetSocketAddress address = new InetSocketAddress("127.0.0.1", nbdPort);
			Connection before = connect(address, client);
			try (NbdClient open = before.client()) {
				assertThat(before.serverSerial()).isEqualTo(serial(first));
			}
			int round = 2;
			for (String name : new String[] { "node-renewed", "node-renewed-again" }) {
				TestCertificates.Issued next = authority.issue(name, "127.0.0.1");
				Path previous = tls.resolve("..data").toRealPath();
				Path nextVersion = secretVersion(tls, next, "..2026_12_03_0" + round);
				Path staged = tls.resolve("..data_tmp");
				Files.createSymbolicLink(staged, nextVersion.getFileName());
				Files.move(staged, tls.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
				FileSystemUtils.deleteRecursively(previous);
				long offset = round * MIB;
				byte pattern = (byte) round;
				awaitServed(address, client, serial(next), (probe) -> writeAndRead(probe, offset, pattern));
				round++;
			}
		}
	}

	private ConfigurableApplicationContext start(Path tls, int nbdPort) {
		String bundle = "--spring.ssl.bundle.pem.nbd.";
		return new SpringApplicationBuilder(LockstepApplication.class).run("--server.port=0",
				"--lockstep.block.nbd.port=" + nbdPort, "--lockstep.block.disks[0].name=disk0",
				"--lockstep.block.disks[0].path=" + this.dir.resolve("disk0.img"),
				"--lockstep.block.disks[0].size=4MiB", "--lockstep.block.nbd.tls.mode=required",
				"--lockstep.block.nbd.tls.bundle=nbd", "--lockstep.block.nbd.tls.client-auth=need",
				bundle + "reload-on-update=true", bundle + "keystore.certificate=file:" + tls.resolve("tls.crt"),
				bundle + "keystore.private-key=file:" + tls.resolve("tls.key"),
				bundle + "truststore.certificate=file:" + tls.resolve("ca.crt"),
				"--spring.ssl.bundle.watch.file.quiet-period=200ms", "--spring.main.banner-mode=off",
				"--logging.level.root=WARN", "--lockstep.security.api-token=rotation-test-token");
	}

	private static int freePort() throws Exception {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

	/**
	 * Opens new connections until one gets the certificate with {@code expected} serial,
	 * for at most 30 s, and uses that connection.
	 */
	private static void awaitServed(InetSocketAddress address, TestCertificates.Issued client, BigInteger expected,
			ClientUse use) throws Exception {
		BigInteger seen = null;
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
		while (!expected.equals(seen) && System.nanoTime() < deadline) {
			Thread.sleep(200);
			Connection probe = connect(address, client);
			try (NbdClient probeClient = probe.client()) {
				seen = probe.serverSerial();
				if (expected.equals(seen)) {
					// The new connection works, too.
					use.accept(probeClient);
				}
			}
		}
		assertThat(seen).as("serial of the certificate new connections get").isEqualTo(expected);
	}

	@FunctionalInterface
	private interface ClientUse {

		void accept(NbdClient client) throws Exception;

	}

	/** Writes one version of a Secret volume's files into a directory of its own. */
	private static Path secretVersion(Path volume, TestCertificates.Issued issued, String name) throws Exception {
		Path version = Files.createDirectories(volume.resolve(name));
		Files.copy(issued.certificate(), version.resolve("tls.crt"));
		Files.copy(issued.privateKey(), version.resolve("tls.key"));
		Files.copy(issued.caCertificate(), version.resolve("ca.crt"));
		return version;
	}

	/** Writes the certificate, its key and the authority where the bundle reads them. */
	private static void install(TestCertificates.Issued issued, Path tls) throws Exception {
		replace(issued.certificate(), tls.resolve("tls.crt"));
		replace(issued.privateKey(), tls.resolve("tls.key"));
		replace(issued.caCertificate(), tls.resolve("ca.crt"));
	}

	/** Replaces a file in one step, as a Secret update or a renewal script would. */
	private static void replace(Path source, Path target) throws Exception {
		Path staged = target.resolveSibling(target.getFileName() + ".new");
		Files.copy(source, staged, StandardCopyOption.REPLACE_EXISTING);
		Files.move(staged, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
	}

	private static BigInteger serial(TestCertificates.Issued issued) throws Exception {
		try (var in = Files.newInputStream(issued.certificate())) {
			return ((X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
				.generateCertificate(in)).getSerialNumber();
		}
	}

	/**
	 * Connects over TLS with a client certificate, keeping the engine to read its
	 * session.
	 */
	private static Connection connect(InetSocketAddress address, TestCertificates.Issued client) throws Exception {
		NbdTlsEngines engines = TestTlsBundles.engines(client, BlockProperties.ClientAuth.NONE);
		AtomicReference<SSLEngine> engine = new AtomicReference<>();
		NbdClient.Options options = NbdClient.Options.defaults().withTls((host, port) -> {
			SSLEngine created = engines.clientEngine(host, port);
			engine.set(created);
			return created;
		});
		NbdClient nbd = NbdClient.connect(address, "disk0", options);
		return new Connection(nbd, engine.get());
	}

	private static void writeAndRead(NbdClient client, long offset, byte value) throws Exception {
		byte[] data = new byte[64 * 1024];
		Arrays.fill(data, value);
		client.write(offset, ByteBuffer.wrap(data), true).get(10, TimeUnit.SECONDS);
		ByteBuffer back = ByteBuffer.allocate(data.length);
		client.read(offset, back).get(10, TimeUnit.SECONDS);
		assertThat(back.array()).isEqualTo(data);
	}

	/**
	 * A client and the TLS engine of its connection.
	 *
	 * @param client the client
	 * @param engine the engine, whose session holds the server's certificate
	 */
	private record Connection(NbdClient client, SSLEngine engine) {

		BigInteger serverSerial() throws Exception {
			Certificate[] chain = this.engine.getSession().getPeerCertificates();
			return ((X509Certificate) chain[0]).getSerialNumber();
		}

	}

}

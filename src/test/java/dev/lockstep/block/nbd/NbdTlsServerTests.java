package dev.lockstep.block.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import dev.lockstep.TestCertificates;
import dev.lockstep.block.BlockProperties;
import dev.lockstep.block.Export;
import dev.lockstep.block.ExportRegistry;
import dev.lockstep.block.NbdTlsEngines;
import dev.lockstep.block.TestTlsBundles;
import dev.lockstep.block.file.FileBlockDevice;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server's TLS with real clients (nbdinfo, nbdcopy, qemu-img, qemu-io) and with raw
 * connections for exact reply codes: required and optional modes, TLS-only exports,
 * client certificates, and failures that end only their own connection.
 */
@Timeout(120)
@ExtendWith(OutputCaptureExtension.class)
class NbdTlsServerTests {

	private static final long MIB = 1024 * 1024;

	@TempDir
	static Path certificates;

	private static TestCertificates authority;

	private static TestCertificates.Issued server;

	private static Path clientDirectory;

	@TempDir
	Path directory;

	private final ExportRegistry registry = new ExportRegistry();

	private NbdServer nbd;

	private FileBlockDevice disk;

	private FileBlockDevice replica;

	@BeforeAll
	static void issueCertificates() {
		authority = TestCertificates.authority(certificates.resolve("ca"), "Test CA");
		server = authority.issue("server", "127.0.0.1", "localhost");
		clientDirectory = authority.gnutlsDirectory(certificates.resolve("client"), null,
				authority.issue("client", "primary.example"));
	}

	@BeforeEach
	void addExports() throws IOException {
		this.disk = FileBlockDevice.open(this.directory.resolve("disk0.img"), 16 * MIB, false);
		this.registry.add("disk0", this.disk, false, "test disk");
		this.replica = FileBlockDevice.open(this.directory.resolve("replica.img"), 4 * MIB, false);
		Export restricted = this.registry.add("disk0.replica", this.replica, false, "replica");
		restricted.restrictPeerNames(Set.of("primary.example"));
	}

	@AfterEach
	void close() throws IOException {
		if (this.nbd != null) {
			this.nbd.close();
		}
		this.disk.close();
		this.replica.close();
	}

	private int start(ServerTls.Mode mode, BlockProperties.ClientAuth clientAuth) throws IOException {
		return start(mode, TestTlsBundles.engines(server, clientAuth));
	}

	private int start(ServerTls.Mode mode, NbdTlsEngines engines) throws IOException {
		this.nbd = new NbdServer(this.registry, NbdServer.Settings.loopback(0),
				new ServerTls(mode, engines::serverEngine));
		this.nbd.start();
		return this.nbd.port();
	}

	private static String tlsUri(int port, String export, Path certificateDirectory) {
		return "nbds://127.0.0.1:" + port + "/" + export + "?tls-certificates=" + certificateDirectory;
	}

	@Test
	void nbdinfoAndNbdcopyOverTls() throws Exception {
		int port = start(ServerTls.Mode.REQUIRED, BlockProperties.ClientAuth.WANT);
		String info = Tools.ok(30, "nbdinfo", "--json", tlsUri(port, "disk0", clientDirectory));
		assertThat(info).contains("\"export-size\": " + 16 * MIB);
		Path source = this.directory.resolve("source.raw");
		byte[] data = new byte[16 * (int) MIB];
		new java.util.Random(7).nextBytes(data);
		Files.write(source, data);
		Tools.ok(60, "nbdcopy", source.toString(), tlsUri(port, "disk0", clientDirectory));
		Path back = this.directory.resolve("back.raw");
		Tools.ok(60, "nbdcopy", tlsUri(port, "disk0", clientDirectory), back.toString());
		assertThat(Files.readAllBytes(back)).isEqualTo(data);
	}

	@Test
	void qemuOverTlsWritesAndReadsBack() throws Exception {
		int port = start(ServerTls.Mode.REQUIRED, BlockProperties.ClientAuth.NEED);
		String object = "tls-creds-x509,id=tls0,endpoint=client,dir=" + clientDirectory;
		String image = "driver=nbd,host=127.0.0.1,port=" + port + ",export=disk0,tls-creds=tls0";
		Tools.ok(30, "qemu-io", "--object", object, "--image-opts", image, "-c", "write -P 0x6b 1M 2M");
		String read = Tools.ok(30, "qemu-io", "--object", object, "--image-opts", image, "-c", "read -P 0x6b 1M 2M",
				"-c", "read -P 0 0 1M");
		assertThat(read).doesNotContain("Pattern verification failed").contains("read 2097152/2097152 bytes");
		Path copy = this.directory.resolve("copy.raw");
		Tools.ok(60, "qemu-img", "convert", "--object", object, "--image-opts", image, "-O", "raw", copy.toString());
		byte[] expected = new byte[16 * (int) MIB];
		java.util.Arrays.fill(expected, (int) MIB, 3 * (int) MIB, (byte) 0x6b);
		assertThat(Files.readAllBytes(copy)).isEqualTo(expected);
	}

	@Test
	void plaintextClientInRequiredModeIsToldToStartTls() throws Exception {
		int port = start(ServerTls.Mode.REQUIRED, BlockProperties.ClientAuth.NONE);
		try (RawConnection raw = new RawConnection(port)) {
			assertThat(optionReplyType(raw, Nbd.OPT_LIST, null)).isEqualTo(Nbd.REP_ERR_TLS_REQD);
			assertThat(optionReplyType(raw, Nbd.OPT_STRUCTURED_REPLY, null)).isEqualTo(Nbd.REP_ERR_TLS_REQD);
			ByteBuffer go = ByteBuffer.allocate(NbdHandshakeCodec.infoRequestLength("disk0", 0));
			NbdHandshakeCodec.encodeInfoRequest(go, "disk0", List.of());
			assertThat(optionReplyType(raw, Nbd.OPT_GO, go.flip())).isEqualTo(Nbd.REP_ERR_TLS_REQD);
			assertThat(optionReplyType(raw, Nbd.OPT_STARTTLS, null)).isEqualTo(Nbd.REP_ACK);
		}
		assertThat(Tools.run(20, "nbdinfo", "nbd://127.0.0.1:" + port + "/disk0").exitCode()).isNotZero();
		assertServes(port);
	}

	@Test
	void optionalModeServesPlaintextAndKeepsTlsOnlyExportsForTls(CapturedOutput output) throws Exception {
		NbdLogs.atInfo();
		int port = start(ServerTls.Mode.OPTIONAL, BlockProperties.ClientAuth.WANT);
		this.registry.find("disk0").orElseThrow().requireTls();
		FileBlockDevice open = FileBlockDevice.open(this.directory.resolve("open.img"), MIB, false);
		try {
			this.registry.add("open", open, false, "plaintext disk");
			assertThat(Tools.ok(20, "nbdinfo", "--size", "nbd://127.0.0.1:" + port + "/open").trim())
				.isEqualTo(String.valueOf(MIB));
			try (RawConnection raw = new RawConnection(port)) {
				ByteBuffer go = ByteBuffer.allocate(NbdHandshakeCodec.infoRequestLength("disk0", 0));
				NbdHandshakeCodec.encodeInfoRequest(go, "disk0", List.of());
				assertThat(optionReplyType(raw, Nbd.OPT_GO, go.flip())).isEqualTo(Nbd.REP_ERR_TLS_REQD);
				assertThat(output).contains("for export \"disk0\": it is served only over TLS");
				raw.option(Nbd.OPT_LIST, null);
				StringBuilder listed = new StringBuilder();
				NbdHandshakeCodec.OptionReply reply;
				while ((reply = raw.optionReply()).type() == Nbd.REP_SERVER) {
					listed.append(StandardCharsets.UTF_8.decode(raw.read((int) reply.length())).toString()).append(';');
				}
				assertThat(reply.type()).isEqualTo(Nbd.REP_ACK);
				assertThat(listed.toString()).contains("open").doesNotContain("disk0");
			}
			String list = Tools.ok(20, "nbdinfo", "--list", "--json",
					"nbds://127.0.0.1:" + port + "?tls-certificates=" + clientDirectory);
			assertThat(list).contains("\"export-name\": \"disk0\"");
		}
		finally {
			open.close();
			NbdLogs.restore();
		}
		assertServes(port);
	}

	@Test
	void garbageAfterStartTlsEndsOnlyThatConnection() throws Exception {
		int port = start(ServerTls.Mode.REQUIRED, BlockProperties.ClientAuth.NONE);
		try (RawConnection raw = new RawConnection(port)) {
			assertThat(optionReplyType(raw, Nbd.OPT_STARTTLS, null)).isEqualTo(Nbd.REP_ACK);
			raw.write(ByteBuffer.wrap("this is not a TLS client hello\r\n".getBytes(StandardCharsets.US_ASCII)));
			assertThat(endOfStream(raw)).isTrue();
		}
		try (RawConnection raw = new RawConnection(port)) {
			assertThat(optionReplyType(raw, Nbd.OPT_STARTTLS, null)).isEqualTo(Nbd.REP_ACK);
			// A TLS record header with a length no record may have
			raw.write(ByteBuffer.wrap(new byte[] { 0x16, 0x03, 0x01, (byte) 0xff, (byte) 0xff, 1, 2, 3 }));
			assertThat(endOfStream(raw)).isTrue();
		}
		assertServes(port);
	}

	@Test
	void startTlsTwiceOrWithDataIsInvalidAndUnsupportedWithoutTls() throws Exception {
		try (TestServer plain = new TestServer(this.directory.resolve("plain"))) {
			try (RawConnection raw = new RawConnection(plain.port())) {
				assertThat(optionReplyType(raw, Nbd.OPT_STARTTLS, null)).isEqualTo(Nbd.REP_ERR_UNSUP);
			}
		}
		int port = start(ServerTls.Mode.OPTIONAL, BlockProperties.ClientAuth.NONE);
		try (RawConnection raw = new RawConnection(port)) {
			assertThat(optionReplyType(raw, Nbd.OPT_STARTTLS, ByteBuffer.wrap(new byte[] { 1 })))
				.isEqualTo(Nbd.REP_ERR_INVALID);
		}
	}

	@Test
	void untrustedExpiredOrMisnamedCertificatesFailTheHandshake() throws Exception {
		TestCertificates other = TestCertificates.authority(certificates.resolve("other"), "Other CA");
		Path wrongCa = other.gnutlsDirectory(this.directory.resolve("wrong-ca"), null,
				other.issue("stranger", "primary.example"));
		int port = start(ServerTls.Mode.REQUIRED, BlockProperties.ClientAuth.NEED);
		// The client does not trust the server's authority, and the server not the
		// client's
		assertThat(Tools.run(20, "nbdinfo", tlsUri(port, "disk0", wrongCa)).exitCode()).isNotZero();
		// An expired client certificate
		Path expired = authority.gnutlsDirectory(this.directory.resolve("expired"), null,
				authority.issueExpired("old", "primary.example"));
		assertThat(Tools.run(20, "nbdinfo", tlsUri(port, "disk0", expired)).exitCode()).isNotZero();
		assertServes(port);
		this.nbd.close();
		// A server whose certificate names another host, and one whose has expired
		for (TestCertificates.Issued bad : List.of(authority.issue("misnamed", "elsewhere.example"),
				authority.issueExpired("stale", "127.0.0.1"))) {
			int other2 = start(ServerTls.Mode.REQUIRED, TestTlsBundles.engines(bad, BlockProperties.ClientAuth.NONE));
			assertThat(Tools.run(20, "nbdinfo", tlsUri(other2, "disk0", clientDirectory)).exitCode()).isNotZero();
			this.nbd.close();
		}
	}

	@Test
	void replicaExportNeedsACertificateWithAnAllowedName() throws Exception {
		int port = start(ServerTls.Mode.OPTIONAL, BlockProperties.ClientAuth.WANT);
		Path noCertificate = authority.gnutlsDirectory(this.directory.resolve("anonymous"), null, null);
		Path wrongName = authority.gnutlsDirectory(this.directory.resolve("wrong-name"), null,
				authority.issue("intruder", "intruder.example"));
		assertThat(Tools.run(20, "nbdinfo", tlsUri(port, "disk0.replica", noCertificate)).exitCode()).isNotZero();
		assertThat(Tools.run(20, "nbdinfo", tlsUri(port, "disk0.replica", wrongName)).exitCode()).isNotZero();
		assertThat(Tools.run(20, "nbdinfo", "nbd://127.0.0.1:" + port + "/disk0.replica").exitCode()).isNotZero();
		assertThat(Tools.ok(20, "nbdinfo", "--size", tlsUri(port, "disk0.replica", clientDirectory)).trim())
			.isEqualTo(String.valueOf(4 * MIB));
		// Without a certificate, the other exports stay reachable
		assertThat(Tools.ok(20, "nbdinfo", "--size", tlsUri(port, "disk0", noCertificate)).trim())
			.isEqualTo(String.valueOf(16 * MIB));
	}

	/** Another client is served normally. */
	private static void assertServes(int port) throws Exception {
		assertThat(Tools.ok(20, "nbdinfo", "--size", tlsUri(port, "disk0", clientDirectory)).trim())
			.isEqualTo(String.valueOf(16 * MIB));
	}

	/** Reads what the server still sends (a TLS alert, say) until it closes. */
	private static boolean endOfStream(RawConnection raw) throws IOException {
		ByteBuffer sink = ByteBuffer.allocate(4096);
		for (int i = 0; i < 16; i++) {
			sink.clear();
			try {
				if (raw.channel.read(sink) < 0) {
					return true;
				}
			}
			catch (IOException ex) {
				return true;
			}
		}
		return false;
	}

	private static int optionReplyType(RawConnection raw, int option, ByteBuffer data) throws IOException {
		raw.option(option, data);
		NbdHandshakeCodec.OptionReply reply = raw.optionReply();
		raw.read((int) reply.length());
		return reply.type();
	}

}

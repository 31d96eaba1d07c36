package dev.lockstep.security;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.lockstep.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks that the test authority's certificates are what real TLS clients accept: a
 * GnuTLS client ({@code nbdinfo}) reaches a {@code qemu-nbd} server over TLS with them,
 * and refuses a server whose certificate another authority issued.
 */
class TestCertificatesTests {

	@TempDir
	Path work;

	@Test
	void qemuNbdAndNbdinfoAgreeOnTheIssuedCertificates() throws Exception {
		TestCertificates authority = TestCertificates.authority(this.work.resolve("ca"), "Test CA");
		TestCertificates.Issued server = authority.issue("server", "localhost", "127.0.0.1");
		TestCertificates.Issued client = authority.issue("client", "client.test");
		Path serverDir = authority.gnutlsDirectory(this.work.resolve("server"), server, null);
		Path clientDir = authority.gnutlsDirectory(this.work.resolve("client"), null, client);
		TestCertificates other = TestCertificates.authority(this.work.resolve("other"), "Other CA");
		Path strangerDir = other.gnutlsDirectory(this.work.resolve("stranger"), null, other.issue("c", "x"));
		Path image = this.work.resolve("disk.img");
		Files.write(image, new byte[1 << 20]);
		int port;
		try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
			port = probe.getLocalPort();
		}
		Process nbd = new ProcessBuilder("qemu-nbd", "--fork", "--persistent", "-f", "raw", "-b", "127.0.0.1", "-p",
				String.valueOf(port), "--object",
				"tls-creds-x509,id=tls0,endpoint=server,dir=" + serverDir + ",verify-peer=off", "--tls-creds", "tls0",
				"--pid-file", this.work.resolve("pid").toString(), image.toString())
			.redirectErrorStream(true)
			.redirectOutput(this.work.resolve("qemu-nbd.log").toFile())
			.start();
		assertThat(nbd.waitFor(20, TimeUnit.SECONDS)).isTrue();
		long pid = Long.parseLong(Files.readString(this.work.resolve("pid")).trim());
		try {
			assertThat(run("nbdinfo", "--size", "nbds://localhost:" + port + "/?tls-certificates=" + clientDir))
				.isEqualTo("0: 1048576");
			assertThat(run("nbdinfo", "--size", "nbds://localhost:" + port + "/?tls-certificates=" + strangerDir))
				.doesNotStartWith("0:");
		}
		finally {
			ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
		}
	}

	/** Runs a client and returns its exit code and standard output as "code: output". */
	private String run(String... command) throws Exception {
		Path output = Files.createTempFile(this.work, "out", ".txt");
		Process process = new ProcessBuilder(List.of(command)).redirectOutput(output.toFile())
			.redirectError(ProcessBuilder.Redirect.DISCARD)
			.start();
		assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
		return process.exitValue() + ": " + Files.readString(output).strip();
	}

}

package dev.lockstep.block.nbd;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * nbdcopy in and out with checksums, and fio's nbd engine in a verify run.
 */
@Timeout(120)
class NbdCopyAndFioTests {

	private static final long MIB = 1024 * 1024;

	@RegisterExtension
	final TestServer.PerTest server = TestServer.perTest().disk("disk0", 128 * MIB);

	@Test
	void nbdcopyInAndOutKeepsChecksum() throws Exception {
		Path source = this.server.directory().resolve("source.raw");
		QemuClientsTests.writeRandomSparseImage(source, 128 * MIB, 3);
		String uri = this.server.uri("disk0");
		Tools.ok(120, "nbdcopy", "--flush", source.toString(), uri);
		Path copy = this.server.directory().resolve("copy.raw");
		Tools.ok(120, "nbdcopy", uri, copy.toString());
		assertThat(sha256(copy)).isEqualTo(sha256(source));
		assertThat(this.server.registry().get("disk0").stats().flushes()).isPositive();
	}

	@Test
	void fioVerifyRunWithQueueDepth16() throws Exception {
		Instant began = Instant.now().minusSeconds(1);
		// fio saves its verify state in its working directory, the project's, unless
		// told where.
		String output = Tools.ok(60, "fio", "--aux-path=" + this.server.directory(), "--name=verify", "--ioengine=nbd",
				"--uri=" + this.server.uri("disk0"), "--rw=randwrite", "--bs=4k", "--bsrange=512-64k", "--iodepth=16",
				"--size=32M", "--verify=crc32c", "--verify_fatal=1", "--do_verify=1", "--runtime=5",
				"--output-format=terse", "--terse-version=3");
		String[] fields = output.lines().filter((line) -> line.startsWith("3;")).findFirst().orElseThrow().split(";");
		// Field 5 is the error count; verify failures also make fio exit non-zero.
		assertThat(fields[4]).isEqualTo("0");
		assertThat(this.server.registry().get("disk0").stats().reads()).isPositive();
		assertThat(this.server.registry().get("disk0").stats().writes()).isPositive();
		assertThat(stateFilesSince(Path.of("").toAbsolutePath(), began)).as("fio state files left in the project")
			.isEmpty();
	}

	private static List<Path> stateFilesSince(Path directory, Instant since) throws IOException {
		try (Stream<Path> files = Files.list(directory)) {
			return files.filter((file) -> file.getFileName().toString().endsWith(".state"))
				.filter((file) -> modifiedSince(file, since))
				.toList();
		}
	}

	private static boolean modifiedSince(Path file, Instant since) {
		try {
			return !Files.getLastModifiedTime(file).toInstant().isBefore(since);
		}
		catch (IOException ex) {
			return false;
		}
	}

	static String sha256(Path file) throws Exception {
		MessageDigest digest = MessageDigest.getInstance("SHA-256");
		try (InputStream in = Files.newInputStream(file)) {
			byte[] buffer = new byte[1 << 20];
			for (int read; (read = in.read(buffer)) > 0;) {
				digest.update(buffer, 0, read);
			}
		}
		return HexFormat.of().formatHex(digest.digest());
	}

}

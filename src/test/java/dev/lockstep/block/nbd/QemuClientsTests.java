package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * qemu-io and qemu-img against the server.
 */
@Timeout(120)
class QemuClientsTests {

	private static final long MIB = 1024 * 1024;

	@RegisterExtension
	final TestServer.PerTest server = TestServer.perTest().disk("disk0", 256 * MIB);

	@Test
	void patternWritesAndReadsAtManyOffsetsAndSizes() throws Exception {
		long size = 256 * MIB;
		// Disjoint ranges: aligned and unaligned, tiny to the 32 MiB maximum, up to the
		// last byte.
		long[][] ranges = { { 0, 512 }, { 513, 1 }, { 1025, 4096 }, { 5123, 3 }, { 65535, 70001 }, { MIB + 7, 33 },
				{ 3 * MIB - 100, 300 }, { 8 * MIB, 32 * MIB }, { 40 * MIB + 1, 32 * MIB - 1 }, { 100 * MIB, 131072 },
				{ 200 * MIB + 4096, 1000000 }, { size - 4097, 4096 }, { size - 1, 1 } };
		List<String> write = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
		List<String> read = new ArrayList<>(List.of("qemu-io", "-f", "raw", "-r"));
		for (int i = 0; i < ranges.length; i++) {
			String pattern = String.format("0x%02x", 0x10 + i);
			write.addAll(List.of("-c", "write -P " + pattern + " " + ranges[i][0] + " " + ranges[i][1]));
			read.addAll(List.of("-c", "read -P " + pattern + " " + ranges[i][0] + " " + ranges[i][1]));
		}
		// Untouched areas between the ranges still read as zeroes.
		read.addAll(
				List.of("-c", "read -P 0 " + (4 * MIB) + " " + (4 * MIB), "-c", "read -P 0 " + (150 * MIB) + " 4096"));
		write.add(this.server.uri("disk0"));
		read.add(this.server.uri("disk0"));
		Tools.ok(60, write.toArray(String[]::new));
		String output = Tools.ok(60, read.toArray(String[]::new));
		assertThat(output).doesNotContain("failed");
		// The data is in the image itself at the same offsets.
		try (FileChannel image = FileChannel.open(this.server.image("disk0"), StandardOpenOption.READ)) {
			ByteBuffer byteAt = ByteBuffer.allocate(1);
			image.read(byteAt, 40 * MIB + 1 + 32 * MIB - 2);
			assertThat(byteAt.get(0)).isEqualTo((byte) 0x18);
		}
	}

	@Test
	void patternMismatchIsDetected() throws Exception {
		Tools.ok(30, "qemu-io", "-f", "raw", "-c", "write -P 0x44 4096 4096", this.server.uri("disk0"));
		Tools.Result result = Tools.run(30, "qemu-io", "-f", "raw", "-c", "read -P 0x45 4096 4096",
				this.server.uri("disk0"));
		assertThat(result.exitCode()).isNotZero();
		assertThat(result.output()).contains("Pattern verification failed");
	}

	@Test
	void qemuImgConvertRoundTripOfRandomSparseImage() throws Exception {
		Path source = this.server.directory().resolve("source.raw");
		writeRandomSparseImage(source, 256 * MIB, 42);
		String uri = this.server.uri("disk0");
		Tools.ok(120, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), uri);
		Tools.ok(120, "qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), uri);
		Path back = this.server.directory().resolve("back.raw");
		long readBefore = this.server.registry().get("disk0").stats().bytesRead();
		Tools.ok(120, "qemu-img", "convert", "-f", "raw", "-O", "raw", uri, back.toString());
		Tools.ok(120, "qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), back.toString());
		// Holes stay holes: the export reports them and the copy out skips them.
		String map = Tools.ok(30, "nbdinfo", "--map", uri);
		assertThat(map).contains("hole,zero").contains("data");
		assertThat(Files.size(back)).isEqualTo(256 * MIB);
		// Only the data (three quarters of the image) was read.
		long read = this.server.registry().get("disk0").stats().bytesRead() - readBefore;
		assertThat(read).isBetween(192 * MIB, 200 * MIB);
	}

	@Test
	void qemuImgCompareDetectsDifference() throws Exception {
		Path source = this.server.directory().resolve("source.raw");
		writeRandomSparseImage(source, 256 * MIB, 7);
		Tools.Result result = Tools.run(60, "qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(),
				this.server.uri("disk0"));
		assertThat(result.exitCode()).isEqualTo(1);
	}

	/** Random data in most 1 MiB chunks, with every fourth chunk left a hole. */
	static void writeRandomSparseImage(Path path, long size, long seed) throws Exception {
		Random random = new Random(seed);
		byte[] chunk = new byte[(int) MIB];
		try (FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
				StandardOpenOption.SPARSE)) {
			for (long offset = 0; offset < size; offset += MIB) {
				if ((offset / MIB) % 4 == 3) {
					continue;
				}
				random.nextBytes(chunk);
				channel.write(ByteBuffer.wrap(chunk), offset);
			}
			channel.truncate(size);
			if (channel.size() < size) {
				channel.write(ByteBuffer.allocate(1), size - 1);
			}
		}
	}

}

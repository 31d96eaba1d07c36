package dev.lockstep.block.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.ExportRegistry;
import dev.lockstep.block.ExportStats;
import dev.lockstep.block.file.FileBlockDevice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Requests up to the 64 MiB maximum: served byte-exact, one byte more refused cleanly,
 * and many connections sending the largest writes at once held within the buffer budget.
 */
@Timeout(180)
class HugeRequestTests {

	private static final int MIB = 1024 * 1024;

	private static final int MAX = 64 * MIB;

	@RegisterExtension
	final TestServer.PerTest server = TestServer.perTest().disk("disk0", 3L * MAX);

	@TempDir
	Path directory;

	@Test
	void largestWriteAndReadAreServedAndOneByteMoreIsRefused() throws Exception {
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.go("disk0");
			connection.request(0, Nbd.CMD_WRITE, 1, 4096, MAX);
			sendPattern(connection, 1, 4096, MAX);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(0, 1));
			connection.request(0, Nbd.CMD_READ, 2, 4096, MAX);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(0, 2));
			expectPattern(connection, 1, 4096, MAX);
			// One byte more: the data is read and discarded, the connection goes on.
			connection.request(0, Nbd.CMD_WRITE, 3, 0, MAX + 1L);
			sendPattern(connection, 2, 0, MAX + 1L);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.EINVAL, 3));
			connection.request(0, Nbd.CMD_READ, 4, 0, MAX + 1L);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.EINVAL, 4));
			// Lengths that carry no payload may be longer.
			connection.request(0, Nbd.CMD_WRITE_ZEROES, 5, 4096 + MAX, MAX + 1L);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(0, 5));
			connection.request(0, Nbd.CMD_READ, 6, 4096, MAX);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(0, 6));
			expectPattern(connection, 1, 4096, MAX);
		}
		// The server returns a READ's buffer after the reply is sent, so just after the
		// client has it.
		await().atMost(Duration.ofSeconds(10))
			.untilAsserted(() -> assertThat(this.server.server().buffers().outstandingBytes()).isZero());
	}

	@Test
	void blockSizeInfoAdvertisesTheMaximum() throws Exception {
		String output = Tools.ok(20, "nbdinfo", "--json", this.server.uri("disk0"));
		assertThat(output).contains("\"block_size_maximum\": " + MAX);
	}

	@Test
	void qemuIoWritesAndReadsFortyEightMegabytes() throws Exception {
		String output = Tools.ok(60, "qemu-io", "-f", "raw", "-c", "write -P 0xab 512 48M", "-c",
				"read -P 0xab 512 48M", "-c", "read -P 0 0 512", this.server.uri("disk0"));
		assertThat(output).doesNotContain("Pattern verification failed").contains("read 50331648/50331648 bytes");
	}

	@Test
	void fioVerifiesFortyEightMegabyteWritesSentWhole() throws Exception {
		// fio saves its verify state in its working directory unless told where.
		String output = Tools.ok(120, "fio", "--aux-path=" + this.server.directory(), "--name=huge", "--ioengine=nbd",
				"--uri=" + this.server.uri("disk0"), "--rw=write", "--bs=48M", "--iodepth=2", "--size=144M",
				"--verify=crc32c", "--verify_fatal=1", "--do_verify=1", "--output-format=terse", "--terse-version=3");
		String[] fields = output.lines().filter((line) -> line.startsWith("3;")).findFirst().orElseThrow().split(";");
		// Field 5 is the error count; verify failures also make fio exit non-zero.
		assertThat(fields[4]).isEqualTo("0");
		ExportStats stats = this.server.registry().get("disk0").stats();
		assertThat(stats.writes()).isEqualTo(3);
		assertThat(stats.bytesWritten()).isEqualTo(144L * MIB);
		assertThat(stats.reads()).isEqualTo(3);
		assertThat(stats.errors()).isZero();
	}

	@Test
	void manyConnectionsSendingTheLargestWritesStayWithinTheBudget() throws Exception {
		int clients = 8;
		long budget = 2L * MAX;
		ExportRegistry registry = new ExportRegistry();
		try (FileBlockDevice device = FileBlockDevice.open(this.directory.resolve("many.img"), (long) clients * MAX,
				false)) {
			registry.add("many", device, false, "many");
			NbdServer server = new NbdServer(registry,
					new NbdServer.Settings("127.0.0.1", 0, 64, 4, budget, Duration.ofSeconds(30)));
			server.start();
			ExecutorService pool = Executors.newFixedThreadPool(clients);
			try {
				CyclicBarrier start = new CyclicBarrier(clients);
				List<Future<?>> results = new ArrayList<>();
				for (int i = 0; i < clients; i++) {
					int client = i;
					results.add(pool.submit(() -> {
						long offset = (long) client * MAX;
						try (RawConnection connection = new RawConnection(server.port())) {
							connection.go("many");
							start.await(30, TimeUnit.SECONDS);
							connection.request(0, Nbd.CMD_WRITE, 1, offset, MAX);
							sendPattern(connection, 10 + client, offset, MAX);
							assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(0, 1));
							start.await(60, TimeUnit.SECONDS);
							// Read back (another client's range, so nothing is served
							// from
							// what this connection just sent) as many at once.
							long other = (long) ((client + 1) % clients) * MAX;
							connection.request(0, Nbd.CMD_READ, 2, other, MAX);
							assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(0, 2));
							expectPattern(connection, 10 + (client + 1) % clients, other, MAX);
						}
						return null;
					}));
				}
				for (Future<?> result : results) {
					result.get(150, TimeUnit.SECONDS);
				}
			}
			finally {
				pool.shutdownNow();
				server.close();
			}
			BufferPool buffers = server.buffers();
			assertThat(buffers.peakOutstandingBytes()).isBetween((long) MAX, budget);
			assertThat(buffers.outstandingBytes()).isZero();
		}
	}

	/** Sends {@code length} bytes of the pattern of {@code seed} at {@code offset}. */
	private static void sendPattern(RawConnection connection, int seed, long offset, long length) throws IOException {
		ByteBuffer chunk = ByteBuffer.allocate(MIB);
		byte[] base = base(seed);
		for (long done = 0; done < length; done += chunk.limit()) {
			fill(chunk, base, seed, offset + done, (int) Math.min(MIB, length - done));
			connection.write(chunk);
		}
	}

	/**
	 * Reads {@code length} bytes and checks that they are the pattern of {@code seed}.
	 */
	private static void expectPattern(RawConnection connection, int seed, long offset, int length) throws IOException {
		ByteBuffer expected = ByteBuffer.allocate(MIB);
		byte[] base = base(seed);
		ByteBuffer actual = ByteBuffer.allocate(MIB);
		for (long done = 0; done < length; done += expected.limit()) {
			int part = (int) Math.min(MIB, length - done);
			fill(expected, base, seed, offset + done, part);
			actual.clear().limit(part);
			while (actual.hasRemaining()) {
				if (connection.channel.read(actual) < 0) {
					throw new EOFException("server closed the connection");
				}
			}
			actual.flip();
			assertThat(actual.mismatch(expected)).as("first differing byte at %d", offset + done).isEqualTo(-1);
		}
	}

	private static byte[] base(int seed) {
		byte[] base = new byte[MIB];
		new Random(seed).nextBytes(base);
		return base;
	}

	/**
	 * Fills {@code buffer} with {@code length} bytes of the pattern of {@code seed}:
	 * random bytes drawn from the seed, with the disk offset and the seed stamped at the
	 * start of every 4 KiB, so that data written to or read from the wrong place shows.
	 */
	private static void fill(ByteBuffer buffer, byte[] base, int seed, long offset, int length) {
		buffer.clear();
		buffer.put(base, 0, length);
		for (int i = 0; i + 8 <= length; i += 4096) {
			buffer.putLong(i, (offset + i) ^ ((long) seed << 48));
		}
		buffer.flip();
	}

}

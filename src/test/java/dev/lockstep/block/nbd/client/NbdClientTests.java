package dev.lockstep.block.nbd.client;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.BlockDevice.Extent;
import dev.lockstep.block.TcpProxy;
import dev.lockstep.block.nbd.Nbd;
import dev.lockstep.block.nbd.TestServer;
import dev.lockstep.block.nbd.Tools;

import static dev.lockstep.block.TestBytes.fill;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The client against this server and against qemu-nbd.
 */
@Timeout(60)
class NbdClientTests {

	private static final long MIB = 1024 * 1024;

	@TempDir
	Path directory;

	@Test
	void pipelinedOperationsAgainstOwnServer() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			server.addDisk("disk0", 64 * MIB);
			try (NbdClient client = NbdClient.connect(URI.create(server.uri("disk0")))) {
				assertThat(client.info().structuredReplies()).isTrue();
				assertThat(client.info().blockStatus()).isTrue();
				assertThat(client.info().canMultiConn()).isTrue();
				assertThat(client.info().maximumBlockSize()).isEqualTo(64 * 1024 * 1024);
				exercise(client, 64 * MIB);
			}
			// What the client wrote is what qemu-io reads.
			Tools.ok(30, "qemu-io", "-f", "raw", "-r", "-c", "read -P 0x03 196608 65536", "-c", "read -P 0 1M 64k",
					server.uri("disk0"));
		}
	}

	@Test
	void simpleRepliesWork() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			server.addDisk("disk0", 16 * MIB);
			NbdClient.Options options = NbdClient.Options.defaults().withStructuredReplies(false);
			try (NbdClient client = NbdClient.connect(new InetSocketAddress("127.0.0.1", server.port()), "disk0",
					options)) {
				assertThat(client.info().structuredReplies()).isFalse();
				assertThat(client.info().blockStatus()).isFalse();
				exerciseReadWrite(client);
			}
		}
	}

	@Test
	void unknownExportIsAClearError() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			server.addDisk("disk0", MIB);
			assertThatExceptionOfType(NbdException.class)
				.isThrownBy(() -> NbdClient.connect(new InetSocketAddress("127.0.0.1", server.port()), "disk9"))
				.withMessageContaining("Export 'disk9' does not exist");
			assertThat(NbdClient.listExports(new InetSocketAddress("127.0.0.1", server.port())))
				.containsExactly("disk0");
		}
	}

	@Test
	void unreachableServerIsAClearError() throws Exception {
		int port;
		try (ServerSocket socket = new ServerSocket(0)) {
			port = socket.getLocalPort();
		}
		assertThatExceptionOfType(NbdException.class)
			.isThrownBy(() -> NbdClient.connect(new InetSocketAddress("127.0.0.1", port), "disk0"))
			.withMessageContaining("Cannot connect to NBD server 127.0.0.1:" + port);
	}

	@Test
	void serverErrorsFailOnlyTheirRequest() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			server.addDisk("disk0", MIB);
			try (NbdClient client = NbdClient.connect(URI.create(server.uri("disk0")))) {
				ExecutionException failure = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
						() -> client.write(MIB - 2, ByteBuffer.allocate(4), false).get());
				assertThat(failure.getCause()).isInstanceOf(NbdCommandException.class).hasMessageContaining("ENOSPC");
				assertThat(((NbdCommandException) failure.getCause()).error()).isEqualTo(Nbd.ENOSPC);
				ByteBuffer data = ByteBuffer.allocate(4);
				client.read(0, data).get();
				assertThat(client.isOpen()).isTrue();
			}
		}
	}

	@Test
	void interoperatesWithQemuNbd() throws Exception {
		Path image = this.directory.resolve("qemu.img");
		try (var channel = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.CREATE,
				java.nio.file.StandardOpenOption.WRITE)) {
			channel.truncate(0);
			channel.write(ByteBuffer.allocate(1), 64 * MIB - 1);
		}
		int port;
		try (ServerSocket socket = new ServerSocket(0)) {
			port = socket.getLocalPort();
		}
		Process qemu = new ProcessBuilder("qemu-nbd", "-t", "-f", "raw", "-x", "qdisk", "-b", "127.0.0.1", "-p",
				Integer.toString(port), "--cache=writeback", "--discard=unmap", image.toString())
			.redirectErrorStream(true)
			.redirectOutput(this.directory.resolve("qemu-nbd.log").toFile())
			.start();
		try {
			NbdClient client = connectWithRetry(port, "qdisk");
			try (client) {
				assertThat(client.size()).isEqualTo(64 * MIB);
				assertThat(client.info().structuredReplies()).isTrue();
				exercise(client, 64 * MIB);
			}
			assertThatExceptionOfType(NbdException.class)
				.isThrownBy(() -> NbdClient.connect(new InetSocketAddress("127.0.0.1", port), "missing"))
				.withMessageContaining("Export 'missing' does not exist");
		}
		finally {
			qemu.destroy();
			qemu.waitFor();
		}
		byte[] bytes = Files.readAllBytes(image);
		assertThat(bytes[196608]).isEqualTo((byte) 3);
	}

	private static NbdClient connectWithRetry(int port, String export) throws Exception {
		long deadline = System.nanoTime() + 10_000_000_000L;
		while (true) {
			try {
				return NbdClient.connect(new InetSocketAddress("127.0.0.1", port), export);
			}
			catch (NbdException ex) {
				if (System.nanoTime() > deadline || !ex.getMessage().startsWith("Cannot connect")) {
					throw ex;
				}
				Thread.sleep(50);
			}
		}
	}

	/**
	 * A WRITE of no bytes is still sent and answered, alone or ending a batch of queued
	 * requests.
	 */
	@Test
	void emptyWritesAreSentLikeAnyOther() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			server.addDisk("disk0", 4 * MIB);
			try (NbdClient client = NbdClient.connect(URI.create(server.uri("disk0")))) {
				client.write(0, ByteBuffer.allocate(0), false).get(30, TimeUnit.SECONDS);
				List<CompletableFuture<Void>> writes = new ArrayList<>();
				for (int i = 0; i < 32; i++) {
					byte[] data = fill((i % 2 == 0) ? 4096 : 0, 0x5c);
					writes.add(client.write((long) i * 4096, ByteBuffer.wrap(data), false));
				}
				for (CompletableFuture<Void> write : writes) {
					write.get(30, TimeUnit.SECONDS);
				}
				ByteBuffer back = ByteBuffer.allocate(4096);
				client.read(30 * 4096, back).get(30, TimeUnit.SECONDS);
				assertThat(back.array()).isEqualTo(fill(4096, 0x5c));
			}
		}
	}

	/**
	 * Pipelined writes, reads, zeroes, trim, flush and block status, checked by reading
	 * back.
	 */
	private static void exercise(NbdClient client, long size) throws Exception {
		exerciseReadWrite(client);
		client.writeZeroes(65536, 65536, true, false).get();
		ByteBuffer zeroes = ByteBuffer.allocate(65536);
		client.read(65536, zeroes).get();
		assertThat(zeroes.flip().remaining()).isEqualTo(65536);
		while (zeroes.hasRemaining()) {
			assertThat(zeroes.get()).isZero();
		}
		client.trim(size - MIB, MIB, true).get();
		client.flush().get();
		List<Extent> extents = client.blockStatus(0, 4 * MIB).get();
		assertThat(extents).isNotEmpty();
		assertThat(extents.get(0).hole()).isFalse();
		long covered = extents.stream().mapToLong(Extent::length).sum();
		assertThat(covered).isPositive().isLessThanOrEqualTo(4 * MIB);
		List<Extent> tail = client.blockStatus(2 * MIB, MIB).get();
		assertThat(tail.get(0).zero()).isTrue();
	}

	private static void exerciseReadWrite(NbdClient client) throws Exception {
		List<CompletableFuture<Void>> writes = new ArrayList<>();
		for (int i = 0; i < 16; i++) {
			ByteBuffer data = ByteBuffer.allocate(65536);
			while (data.hasRemaining()) {
				data.put((byte) i);
			}
			writes.add(client.write(i * 65536L, data.flip(), i == 15));
		}
		CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).get();
		List<CompletableFuture<Void>> reads = new ArrayList<>();
		List<ByteBuffer> buffers = new ArrayList<>();
		for (int i = 15; i >= 0; i--) {
			ByteBuffer buffer = ByteBuffer.allocateDirect(65536 - 3);
			buffers.add(buffer);
			reads.add(client.read(i * 65536L + 1, buffer));
		}
		CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).get();
		for (int i = 0; i < 16; i++) {
			ByteBuffer buffer = buffers.get(i);
			assertThat(buffer.position()).isEqualTo(buffer.limit());
			byte expected = (byte) (15 - i);
			assertThat(buffer.get(0)).isEqualTo(expected);
			assertThat(buffer.get(65532)).isEqualTo(expected);
		}
	}

	@Test
	void abortStopsAReadHalfwayAndLeavesItsBufferAlone() throws Exception {
		try (TestServer server = new TestServer(this.directory); TcpProxy proxy = new TcpProxy(0, server.port())) {
			server.addDisk("disk0", MIB);
			NbdClient client = NbdClient.connect(new InetSocketAddress("127.0.0.1", proxy.port()), "disk0");
			client.write(0, ByteBuffer.wrap(fill(65536, 0x5a)), false).get(10, TimeUnit.SECONDS);
			// The reply's chunk header (20 bytes), its offset (8) and 1,000 bytes of
			// data, then nothing.
			proxy.limitToClients(20 + 8 + 1000);
			ByteBuffer dst = ByteBuffer.wrap(fill(65536, 0x11));
			CompletableFuture<Void> read = client.read(0, dst);
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
			while (!proxy.limitReached() && System.nanoTime() < deadline) {
				Thread.sleep(5);
			}
			assertThat(proxy.limitReached()).isTrue();
			Thread.sleep(100);
			assertThat(read).isNotDone();

			client.abort("the reply took too long");
			assertThat(read).failsWithin(Duration.ZERO)
				.withThrowableOfType(ExecutionException.class)
				.withMessageContaining("aborted: the reply took too long");
			byte[] seen = dst.array().clone();
			proxy.unlimit();
			Thread.sleep(200);
			assertThat(dst.array()).isEqualTo(seen);
			assertThat(dst.position()).isZero();
			assertThat(Arrays.copyOfRange(seen, 0, 1000)).isEqualTo(fill(1000, 0x5a));
			assertThat(Arrays.copyOfRange(seen, 1000, 65536)).isEqualTo(fill(64536, 0x11));
			assertThat(client.isOpen()).isFalse();
		}
	}

	@Test
	void closedClientFailsRequests() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			server.addDisk("disk0", MIB);
			NbdClient client = NbdClient.connect(URI.create(server.uri("disk0")));
			client.close();
			assertThat(client.isOpen()).isFalse();
			assertThatExceptionOfType(ExecutionException.class).isThrownBy(() -> client.flush().get())
				.withCauseInstanceOf(IOException.class);
		}
	}

}

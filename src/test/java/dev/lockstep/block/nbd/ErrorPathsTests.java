package dev.lockstep.block.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.Export;
import dev.lockstep.block.ForwardingDevice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Requests no well-behaved client sends. Each is answered as the protocol says, and
 * afterwards the server still serves other clients correctly.
 */
@Timeout(60)
class ErrorPathsTests {

	private static final long MIB = 1024 * 1024;

	private static final long SIZE = 64 * MIB;

	@RegisterExtension
	final TestServer.PerTest server = TestServer.perTest().disk("disk0", SIZE).readOnlyDisk("ro", MIB);

	@BeforeEach
	void start() throws Exception {
		Tools.ok(30, "qemu-io", "-f", "raw", "-c", "write -P 0x7e 0 1M", this.server.uri("disk0"));
	}

	/** Another client still reads the known pattern and writes. */
	private void assertStillServes() throws Exception {
		Tools.ok(30, "qemu-io", "-f", "raw", "-c", "read -P 0x7e 0 1M", "-c", "write -P 0x31 2M 64k", "-c",
				"read -P 0x31 2M 64k", this.server.uri("disk0"));
	}

	@Test
	void outOfRangeRequestsGetErrorsAndConnectionContinues() throws Exception {
		try (RawConnection connection = new RawConnection(this.server.port())) {
			assertThat(connection.go("disk0")).isEqualTo(SIZE);
			connection.request(0, Nbd.CMD_READ, 1, SIZE - 512, 1024);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.EINVAL, 1));
			connection.request(0, Nbd.CMD_READ, 2, -4096L, 4096);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.EINVAL, 2));
			// A write past the end: its data is consumed, then ENOSPC.
			connection.request(0, Nbd.CMD_WRITE, 3, SIZE, 4096);
			connection.write(ByteBuffer.allocate(4096));
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.ENOSPC, 3));
			connection.request(0, Nbd.CMD_TRIM, 4, SIZE - 1, 2);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.ENOSPC, 4));
			connection.request(0, Nbd.CMD_WRITE_ZEROES, 5, SIZE + 1, 1);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.ENOSPC, 5));
			// Unknown command, unknown flag, and block status without a meta context.
			connection.request(0, 42, 6, 0, 0);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.EINVAL, 6));
			connection.request(0x100, Nbd.CMD_READ, 7, 0, 512);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.EINVAL, 7));
			connection.request(0, Nbd.CMD_BLOCK_STATUS, 8, 0, 512);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.EINVAL, 8));
			// Still in step: a valid read returns the data.
			connection.request(0, Nbd.CMD_READ, 9, 4096, 512);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(0, 9));
			assertThat(connection.read(512).get(511)).isEqualTo((byte) 0x7e);
		}
		assertThat(this.server.registry().get("disk0").stats().errors()).isEqualTo(8);
		assertStillServes();
	}

	@Test
	void oversizedRequestsGetEinvalAndWriteDataIsSkipped() throws Exception {
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.go("disk0");
			long tooLong = NbdServer.MAX_REQUEST + 1;
			connection.request(0, Nbd.CMD_READ, 1, 0, tooLong);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.EINVAL, 1));
			connection.request(0, Nbd.CMD_WRITE, 2, 0, tooLong);
			ByteBuffer chunk = ByteBuffer.allocate((int) MIB);
			for (long sent = 0; sent < tooLong; sent += chunk.capacity()) {
				connection.write(chunk.clear().limit((int) Math.min(chunk.capacity(), tooLong - sent)));
			}
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.EINVAL, 2));
			connection.request(0, Nbd.CMD_READ, 3, 0, 4);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(0, 3));
			assertThat(connection.read(4).getInt()).isEqualTo(0x7e7e7e7e);
		}
		assertStillServes();
	}

	@Test
	void writesToReadOnlyExportGetEperm() throws Exception {
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.go("ro");
			connection.request(0, Nbd.CMD_WRITE, 1, 0, 512);
			connection.write(ByteBuffer.allocate(512));
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.EPERM, 1));
			connection.request(0, Nbd.CMD_READ, 2, 0, 512);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(0, 2));
		}
	}

	@Test
	void unknownOptionGetsErrUnsupAndHandshakeContinues() throws Exception {
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.option(4242, ByteBuffer.wrap("some data".getBytes(StandardCharsets.UTF_8)));
			NbdHandshakeCodec.OptionReply reply = connection.optionReply();
			assertThat(reply.option()).isEqualTo(4242);
			assertThat(reply.type()).isEqualTo(Nbd.REP_ERR_UNSUP);
			connection.read((int) reply.length());
			connection.option(Nbd.OPT_STARTTLS, null);
			reply = connection.optionReply();
			assertThat(reply.isError()).isTrue();
			connection.read((int) reply.length());
			// Meta contexts need structured replies first.
			ByteBuffer query = ByteBuffer
				.allocate(NbdHandshakeCodec.metaContextRequestLength("disk0", java.util.List.of("base:allocation")));
			NbdHandshakeCodec.encodeMetaContextRequest(query, "disk0", java.util.List.of("base:allocation"));
			connection.option(Nbd.OPT_SET_META_CONTEXT, query.flip());
			reply = connection.optionReply();
			assertThat(reply.type()).isEqualTo(Nbd.REP_ERR_INVALID);
			connection.read((int) reply.length());
			assertThat(connection.go("disk0")).isEqualTo(SIZE);
			connection.request(0, Nbd.CMD_FLUSH, 1, 0, 0);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(0, 1));
		}
		assertStillServes();
	}

	@Test
	void unknownExportIsRefusedWithErrUnknown() throws Exception {
		try (RawConnection connection = new RawConnection(this.server.port())) {
			ByteBuffer data = ByteBuffer.allocate(NbdHandshakeCodec.infoRequestLength("nope", 0));
			NbdHandshakeCodec.encodeInfoRequest(data, "nope", java.util.List.of());
			connection.option(Nbd.OPT_GO, data.flip());
			NbdHandshakeCodec.OptionReply reply = connection.optionReply();
			assertThat(reply.type()).isEqualTo(Nbd.REP_ERR_UNKNOWN);
			assertThat(StandardCharsets.UTF_8.decode(connection.read((int) reply.length())).toString())
				.contains("nope");
			assertThat(connection.go("disk0")).isEqualTo(SIZE);
		}
	}

	@Test
	void badMagicClosesOnlyThatConnection() throws Exception {
		try (RawConnection good = new RawConnection(this.server.port());
				RawConnection bad = new RawConnection(this.server.port())) {
			good.go("disk0");
			bad.go("disk0");
			bad.write(ByteBuffer.allocate(28).putInt(0, 0xdeadbeef));
			assertThat(bad.closedByServer()).isTrue();
			good.request(0, Nbd.CMD_READ, 1, 0, 8);
			assertThat(good.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(0, 1));
			assertThat(good.read(8).getLong()).isEqualTo(0x7e7e7e7e7e7e7e7eL);
		}
		assertStillServes();
	}

	@Test
	void badOptionMagicClosesTheConnection() throws Exception {
		try (RawConnection bad = new RawConnection(this.server.port())) {
			bad.write(ByteBuffer.allocate(16).putLong(0x1234).putInt(1).putInt(0).flip());
			assertThat(bad.closedByServer()).isTrue();
		}
		assertStillServes();
	}

	@Test
	void clientDisconnectingMidRequestDoesNotHurtTheServer() throws Exception {
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.go("disk0");
			connection.request(0, Nbd.CMD_WRITE, 1, 8 * MIB, 4 * MIB);
			connection.write(ByteBuffer.allocate((int) MIB));
		}
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.go("disk0");
			// Many reads queued, then gone before the replies are read.
			for (int i = 0; i < 64; i++) {
				connection.request(0, Nbd.CMD_READ, i, 0, MIB);
			}
		}
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.write(ByteBuffer.allocate(10).putLong(Nbd.OPTS_MAGIC).flip());
		}
		assertStillServes();
		long deadline = System.nanoTime() + 5_000_000_000L;
		while (this.server.server().connectionCount() > 0 && System.nanoTime() < deadline) {
			Thread.sleep(10);
		}
		assertThat(this.server.server().connectionCount()).isZero();
		assertThat(this.server.registry().get("disk0").stats().clients()).isZero();
	}

	@Test
	void unknownClientFlagsCloseTheConnection() throws Exception {
		try (java.nio.channels.SocketChannel channel = java.nio.channels.SocketChannel
			.open(new java.net.InetSocketAddress("127.0.0.1", this.server.port()))) {
			ByteBuffer greeting = ByteBuffer.allocate(18);
			while (greeting.hasRemaining()) {
				channel.read(greeting);
			}
			channel.write(ByteBuffer.allocate(4).putInt(0x80).flip());
			assertThat(channel.read(ByteBuffer.allocate(1))).isEqualTo(-1);
		}
		assertStillServes();
	}

	@Test
	void aFullDiskAnswersEnospcAndAnyOtherFailureEio() throws Exception {
		BlockDevice image = this.server.registry().get("disk0").device();
		this.server.registry().add("full", new ForwardingDevice(image) {
			@Override
			public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
				try (FileChannel full = FileChannel.open(Path.of("/dev/full"), StandardOpenOption.WRITE)) {
					full.write(src); // the kernel's own ENOSPC
				}
			}

			@Override
			public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
				throw new IOException("Input/output error");
			}
		}, false, "a disk with no space left");
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.go("full");
			connection.request(0, Nbd.CMD_WRITE, 1, 0, 4096);
			connection.write(ByteBuffer.allocate(4096));
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.ENOSPC, 1));
			connection.request(0, Nbd.CMD_WRITE_ZEROES, 2, 0, 4096);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(Nbd.EIO, 2));
		}
		// QEMU sees the cause, which is what lets it pause a guest (werror=enospc)
		// instead of failing it.
		Tools.Result write = Tools.run(30, "qemu-io", "-f", "raw", "-c", "write -P 0x22 0 64k", "-c",
				"read -P 0x7e 0 64k", this.server.uri("full"));
		assertThat(write.output()).contains("No space left on device").contains("read 65536/65536 bytes");
		assertStillServes();
	}

	@Test
	void anExportIsToldWhetherEachClientLeftCleanly() throws Exception {
		List<String> events = new CopyOnWriteArrayList<>();
		AtomicInteger clients = new AtomicInteger();
		List<Runnable> disconnects = new CopyOnWriteArrayList<>();
		this.server.registry().get("disk0").listen((disconnect) -> {
			int client = clients.incrementAndGet();
			disconnects.add(disconnect);
			events.add("arrived " + client);
			return (clean) -> events.add((clean ? "left cleanly " : "broke off ") + client);
		});
		// qemu-io ends with NBD_CMD_DISC; a connection closed under the server does not.
		Tools.ok(30, "qemu-io", "-f", "raw", "-c", "read -P 0x7e 0 4k", this.server.uri("disk0"));
		awaitEvents(events, 2);
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.go("disk0");
			connection.request(0, Nbd.CMD_READ, 1, 0, 512);
			assertThat(connection.simpleReply()).isEqualTo(new NbdCodec.SimpleReply(0, 1));
		}
		awaitEvents(events, 4);
		assertThat(events).containsExactly("arrived 1", "left cleanly 1", "arrived 2", "broke off 2");
		// The listener can close a client's connection; that client's departure follows,
		// as not clean.
		try (RawConnection connection = new RawConnection(this.server.port())) {
			connection.go("disk0");
			awaitEvents(events, 5);
			disconnects.get(2).run();
			awaitEvents(events, 6);
			assertThat(events).endsWith("arrived 3", "broke off 3");
			assertThatExceptionOfType(IOException.class).isThrownBy(() -> {
				connection.request(0, Nbd.CMD_READ, 2, 0, 512);
				connection.simpleReply();
			});
		}
	}

	private static void awaitEvents(List<String> events, int count) throws InterruptedException {
		long deadline = System.nanoTime() + 5_000_000_000L;
		while (events.size() < count && System.nanoTime() < deadline) {
			Thread.sleep(10);
		}
	}

}

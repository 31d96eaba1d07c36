package dev.lockstep.block.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * A hand-driven NBD connection for tests that send what no well-behaved client would.
 */
final class RawConnection implements AutoCloseable {

	final SocketChannel channel;

	RawConnection(int port) throws IOException {
		this("127.0.0.1", port);
	}

	/** Connects from the given local (loopback) address. */
	RawConnection(String from, int port) throws IOException {
		this.channel = SocketChannel.open();
		this.channel.bind(new InetSocketAddress(from, 0));
		this.channel.connect(new InetSocketAddress("127.0.0.1", port));
		int flags = NbdHandshakeCodec.decodeGreeting(read(18));
		if ((flags & Nbd.FLAG_FIXED_NEWSTYLE) == 0) {
			throw new IllegalStateException("not fixed newstyle");
		}
		write(ByteBuffer.allocate(4).putInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES).flip());
	}

	void option(int option, ByteBuffer data) throws IOException {
		ByteBuffer header = ByteBuffer.allocate(16);
		NbdHandshakeCodec.encodeOptionHeader(header, option, (data != null) ? data.remaining() : 0);
		write(header.flip());
		if (data != null) {
			write(data);
		}
	}

	NbdHandshakeCodec.OptionReply optionReply() throws IOException {
		return NbdHandshakeCodec.decodeOptionReplyHeader(read(20));
	}

	/** Selects an export with NBD_OPT_GO and returns its size. */
	long go(String export) throws IOException {
		ByteBuffer data = ByteBuffer.allocate(NbdHandshakeCodec.infoRequestLength(export, 0));
		NbdHandshakeCodec.encodeInfoRequest(data, export, List.of());
		option(Nbd.OPT_GO, data.flip());
		long size = -1;
		while (true) {
			NbdHandshakeCodec.OptionReply reply = optionReply();
			ByteBuffer payload = read((int) reply.length());
			if (reply.type() == Nbd.REP_ACK) {
				return size;
			}
			if (reply.type() != Nbd.REP_INFO) {
				throw new IOException("GO failed with reply type 0x" + Integer.toHexString(reply.type()) + ": "
						+ StandardCharsets.UTF_8.decode(payload));
			}
			NbdHandshakeCodec.Info info = NbdHandshakeCodec.decodeInfo(payload);
			if (info instanceof NbdHandshakeCodec.Info.Export export1) {
				size = export1.size();
			}
		}
	}

	void request(int flags, int type, long handle, long offset, long length) throws IOException {
		ByteBuffer header = ByteBuffer.allocate(28);
		NbdCodec.encodeRequest(header, flags, type, handle, offset, (int) length);
		write(header.flip());
	}

	NbdCodec.SimpleReply simpleReply() throws IOException {
		ByteBuffer buffer = read(16);
		if (NbdCodec.decodeReplyMagic(buffer) != Nbd.SIMPLE_REPLY_MAGIC) {
			throw new IOException("expected a simple reply");
		}
		return NbdCodec.decodeSimpleReplyRest(buffer);
	}

	/**
	 * Reads a structured reply chunk that must be an error, and returns its payload by
	 * the handle it answers.
	 */
	Map.Entry<Long, NbdCodec.ErrorPayload> structuredError() throws IOException {
		ByteBuffer buffer = read(Nbd.STRUCTURED_REPLY_HEADER_SIZE);
		if (NbdCodec.decodeReplyMagic(buffer) != Nbd.STRUCTURED_REPLY_MAGIC) {
			throw new IOException("expected a structured reply");
		}
		NbdCodec.ChunkHeader chunk = NbdCodec.decodeChunkHeaderRest(buffer);
		if (chunk.type() != Nbd.REPLY_TYPE_ERROR) {
			throw new IOException("expected an error chunk, got " + chunk);
		}
		return Map.entry(chunk.handle(), NbdCodec.decodeError(read((int) chunk.length()), false));
	}

	ByteBuffer read(int length) throws IOException {
		ByteBuffer buffer = ByteBuffer.allocate(length);
		while (buffer.hasRemaining()) {
			if (this.channel.read(buffer) < 0) {
				throw new EOFException("server closed the connection");
			}
		}
		return buffer.flip();
	}

	void write(ByteBuffer buffer) throws IOException {
		while (buffer.hasRemaining()) {
			this.channel.write(buffer);
		}
	}

	/** Returns true if the server closed the connection (reads end of stream). */
	boolean closedByServer() throws IOException {
		ByteBuffer one = ByteBuffer.allocate(1);
		try {
			return this.channel.read(one) < 0;
		}
		catch (IOException ex) {
			return true;
		}
	}

	@Override
	public void close() throws IOException {
		this.channel.close();
	}

}

package dev.lockstep.block.nbd.client;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.nbd.ChannelInput;
import dev.lockstep.block.nbd.Nbd;
import dev.lockstep.block.nbd.NbdHandshakeCodec;
import dev.lockstep.block.nbd.NbdProtocolException;
import dev.lockstep.block.nbd.tls.TlsChannel;
import dev.lockstep.block.nbd.tls.TlsPolicy;

/**
 * The client's side of the option haggling of the fixed newstyle handshake: structured
 * replies, base:allocation, and selecting the export with {@code NBD_OPT_GO} (or
 * {@code NBD_OPT_EXPORT_NAME} for servers without it); or listing the exports.
 */
final class ClientHandshake {

	private static final int MAX_OPTION_REPLY = 64 * 1024;

	/** Where options go: the socket, then the TLS channel once TLS is started. */
	private ByteChannel channel;

	private ChannelInput input;

	private final String target;

	private boolean noZeroes;

	ClientHandshake(SocketChannel channel, ChannelInput input, String target) {
		this.channel = channel;
		this.input = input;
		this.target = target;
	}

	void start() throws IOException {
		int flags = NbdHandshakeCodec.decodeGreeting(this.input.require(18));
		if ((flags & Nbd.FLAG_FIXED_NEWSTYLE) == 0) {
			throw new NbdException(this.target + " does not support the fixed newstyle handshake");
		}
		this.noZeroes = (flags & Nbd.FLAG_NO_ZEROES) != 0;
		ByteBuffer reply = ByteBuffer.allocate(4);
		reply.putInt(Nbd.FLAG_C_FIXED_NEWSTYLE | (this.noZeroes ? Nbd.FLAG_C_NO_ZEROES : 0));
		write(reply.flip());
	}

	/**
	 * Upgrades the connection with {@code NBD_OPT_STARTTLS}; from then on the handshake
	 * and the transmission go through the returned channel and {@link #input()}.
	 * @param socket the connection's socket
	 * @param engine the client-mode engine, which checks the server's certificate
	 * @return the TLS channel
	 * @throws NbdException if the server refuses TLS or the TLS handshake fails
	 */
	TlsChannel startTls(SocketChannel socket, SSLEngine engine) throws IOException {
		sendOption(Nbd.OPT_STARTTLS, null);
		NbdHandshakeCodec.OptionReply reply = readReply(Nbd.OPT_STARTTLS);
		if (reply.type() != Nbd.REP_ACK) {
			String message = (reply.type() < 0) ? readMessage(reply) : "";
			throw new NbdTlsRefusedException(this.target + " refused to start TLS (NBD_OPT_STARTTLS answered with 0x"
					+ Integer.toHexString(reply.type()) + (message.isEmpty() ? "" : ": " + message)
					+ "); a peer configured with nbds:// is never used in plaintext");
		}
		skipData(reply);
		TlsChannel tls;
		try {
			tls = TlsChannel.open(socket, engine, this.input.takeBuffered());
		}
		catch (SSLException ex) {
			throw new NbdException("TLS handshake with " + this.target + " failed: " + TlsPolicy.describe(ex, "server"),
					ex);
		}
		this.channel = tls;
		this.input = new ChannelInput(tls, 64 * 1024);
		return tls;
	}

	/** The input the handshake reads from; over TLS once it is started. */
	ChannelInput input() {
		return this.input;
	}

	boolean structuredReplies() throws IOException {
		sendOption(Nbd.OPT_STRUCTURED_REPLY, null);
		NbdHandshakeCodec.OptionReply reply = readReply(Nbd.OPT_STRUCTURED_REPLY);
		skipData(reply);
		return reply.type() == Nbd.REP_ACK;
	}

	/** Returns the base:allocation context id, or -1 if the server has none. */
	int setMetaContext(String export) throws IOException {
		List<String> queries = List.of(Nbd.META_CONTEXT_BASE_ALLOCATION);
		ByteBuffer data = ByteBuffer.allocate(NbdHandshakeCodec.metaContextRequestLength(export, queries));
		NbdHandshakeCodec.encodeMetaContextRequest(data, export, queries);
		sendOption(Nbd.OPT_SET_META_CONTEXT, data.flip());
		int id = -1;
		while (true) {
			NbdHandshakeCodec.OptionReply reply = readReply(Nbd.OPT_SET_META_CONTEXT);
			if (reply.type() == Nbd.REP_META_CONTEXT) {
				NbdHandshakeCodec.MetaContext context = NbdHandshakeCodec.decodeMetaContextReply(readData(reply));
				if (Nbd.META_CONTEXT_BASE_ALLOCATION.equals(context.name())) {
					id = context.id();
				}
			}
			else if (reply.type() == Nbd.REP_ACK) {
				skipData(reply);
				return id;
			}
			else if (reply.type() == Nbd.REP_ERR_UNKNOWN) {
				throw unknownExport(export, readMessage(reply));
			}
			else {
				// The server cannot report allocation; the client works without it.
				skipData(reply);
				return -1;
			}
		}
	}

	ExportInfo go(String export, boolean structured, boolean blockStatus) throws IOException {
		List<Integer> infos = List.of(Nbd.INFO_BLOCK_SIZE, Nbd.INFO_DESCRIPTION);
		ByteBuffer data = ByteBuffer.allocate(NbdHandshakeCodec.infoRequestLength(export, infos.size()));
		NbdHandshakeCodec.encodeInfoRequest(data, export, infos);
		sendOption(Nbd.OPT_GO, data.flip());
		long size = -1;
		int flags = 0;
		int minimum = 1;
		int preferred = 4096;
		int maximum = 32 * 1024 * 1024;
		String description = "";
		while (true) {
			NbdHandshakeCodec.OptionReply reply = readReply(Nbd.OPT_GO);
			if (reply.type() == Nbd.REP_INFO) {
				NbdHandshakeCodec.Info info = NbdHandshakeCodec.decodeInfo(readData(reply));
				if (info instanceof NbdHandshakeCodec.Info.Export exportInfo) {
					size = exportInfo.size();
					flags = exportInfo.transmissionFlags();
				}
				else if (info instanceof NbdHandshakeCodec.Info.BlockSize blockSize) {
					minimum = blockSize.minimum();
					preferred = blockSize.preferred();
					maximum = blockSize.maximum();
				}
				else if (info instanceof NbdHandshakeCodec.Info.Text text && text.type() == Nbd.INFO_DESCRIPTION) {
					description = text.value();
				}
			}
			else if (reply.type() == Nbd.REP_ACK) {
				skipData(reply);
				if (size < 0) {
					throw new NbdException(this.target + " did not send the export size");
				}
				return new ExportInfo(export, size, flags, minimum, preferred, maximum, structured, blockStatus,
						description);
			}
			else if (reply.type() == Nbd.REP_ERR_UNSUP) {
				skipData(reply);
				return exportName(export, structured);
			}
			else if (reply.type() == Nbd.REP_ERR_UNKNOWN) {
				throw unknownExport(export, readMessage(reply));
			}
			else if (reply.isError()) {
				throw new NbdException(this.target + " refused the export (reply type 0x"
						+ Integer.toHexString(reply.type()) + "): " + readMessage(reply));
			}
			else {
				skipData(reply);
			}
		}
	}

	/** The old way to select an export, for servers without NBD_OPT_GO. */
	private ExportInfo exportName(String export, boolean structured) throws IOException {
		sendOption(Nbd.OPT_EXPORT_NAME, ByteBuffer.wrap(export.getBytes(StandardCharsets.UTF_8)));
		ByteBuffer reply;
		try {
			reply = this.input.require(10);
		}
		catch (EOFException ex) {
			throw unknownExport(export, "the server closed the connection");
		}
		long size = reply.getLong();
		int flags = Short.toUnsignedInt(reply.getShort());
		if (!this.noZeroes) {
			this.input.skip(124);
		}
		return new ExportInfo(export, size, flags, 1, 4096, 32 * 1024 * 1024, structured, false, "");
	}

	List<String> list() throws IOException {
		sendOption(Nbd.OPT_LIST, null);
		List<String> names = new ArrayList<>();
		while (true) {
			NbdHandshakeCodec.OptionReply reply = readReply(Nbd.OPT_LIST);
			if (reply.type() == Nbd.REP_SERVER) {
				names.add(NbdHandshakeCodec.decodeServerReply(readData(reply)));
			}
			else if (reply.type() == Nbd.REP_ACK) {
				skipData(reply);
				return names;
			}
			else {
				throw new NbdException(this.target + " refused to list exports: " + readMessage(reply));
			}
		}
	}

	void abort() {
		try {
			sendOption(Nbd.OPT_ABORT, null);
			readReply(Nbd.OPT_ABORT);
		}
		catch (IOException ex) {
			// The server may close without replying.
		}
	}

	private NbdException unknownExport(String export, @Nullable String message) {
		return new NbdException("Export '" + export + "' does not exist on " + this.target
				+ ((message != null && !message.isEmpty()) ? " (" + message + ")" : ""));
	}

	private void sendOption(int option, @Nullable ByteBuffer data) throws IOException {
		ByteBuffer header = ByteBuffer.allocate(Nbd.OPTION_HEADER_SIZE);
		NbdHandshakeCodec.encodeOptionHeader(header, option, (data != null) ? data.remaining() : 0);
		write(header.flip());
		if (data != null) {
			write(data);
		}
	}

	private NbdHandshakeCodec.OptionReply readReply(int option) throws IOException {
		NbdHandshakeCodec.OptionReply reply = NbdHandshakeCodec
			.decodeOptionReplyHeader(this.input.require(Nbd.OPTION_REPLY_HEADER_SIZE));
		if (reply.option() != option) {
			throw new NbdProtocolException("Reply for option " + reply.option() + ", expected " + option);
		}
		if (reply.length() > MAX_OPTION_REPLY) {
			throw new NbdProtocolException("Option reply of " + reply.length() + " bytes is too long");
		}
		return reply;
	}

	private ByteBuffer readData(NbdHandshakeCodec.OptionReply reply) throws IOException {
		return this.input.readBytes((int) reply.length());
	}

	private String readMessage(NbdHandshakeCodec.OptionReply reply) throws IOException {
		ByteBuffer data = readData(reply);
		byte[] bytes = new byte[data.remaining()];
		data.get(bytes);
		return new String(bytes, StandardCharsets.UTF_8);
	}

	private void skipData(NbdHandshakeCodec.OptionReply reply) throws IOException {
		this.input.skip(reply.length());
	}

	private void write(ByteBuffer buffer) throws IOException {
		while (buffer.hasRemaining()) {
			this.channel.write(buffer);
		}
	}

}

package dev.lockstep.block.nbd;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.lockstep.block.Export;
import dev.lockstep.logging.LogText;

/**
 * The option haggling of the fixed newstyle handshake, from the greeting until the client
 * selects an export ({@code NBD_OPT_GO} or {@code NBD_OPT_EXPORT_NAME}), gives up
 * ({@code NBD_OPT_ABORT}), or sends more than {@link #MAX_OPTIONS} options without
 * selecting one. Its TLS side is {@link HandshakeTls}'s, its exports' side (information
 * and meta contexts) {@link HandshakeExports}'s; its replies go out through
 * {@link OptionReplies}.
 */
final class NbdHandshake {

	private static final Log logger = LogFactory.getLog(NbdHandshake.class);

	/**
	 * The most options a client may send without selecting an export; after
	 * {@code NBD_OPT_LIST} it may send this many more for each export listed. The same
	 * limit as nbdkit's.
	 */
	static final int MAX_OPTIONS = 32;

	private static final int HANDSHAKE_FLAGS = Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES;

	/**
	 * Largest option data the server reads into memory; longer known options are refused.
	 */
	private static final int MAX_OPTION_DATA = 64 * 1024;

	private final NbdConnection connection;

	private final NbdServer server;

	/** The client's input: plaintext, then over TLS once the client starts it. */
	private ChannelInput input;

	private final SocketAddress remote;

	private final HandshakeTls tls;

	private final OptionReplies replies;

	private final HandshakeExports exports;

	private int optionsLeft = MAX_OPTIONS;

	private boolean listed;

	private boolean structured;

	NbdHandshake(NbdConnection connection, NbdServer server, ChannelInput input, SocketAddress remote) {
		this.connection = connection;
		this.server = server;
		this.input = input;
		this.remote = remote;
		this.tls = new HandshakeTls(server.tls(), connection, remote);
		this.replies = new OptionReplies(connection, remote);
		this.exports = new HandshakeExports(server.registry(), this.tls, this.replies, remote);
	}

	/**
	 * Haggles until the client selects an export, and returns what was agreed; returns
	 * null if the client went away, aborted, or was refused.
	 */
	@Nullable Agreement negotiate() throws IOException {
		ByteBuffer greeting = ByteBuffer.allocate(18);
		NbdHandshakeCodec.encodeGreeting(greeting, HANDSHAKE_FLAGS);
		this.connection.writeAll(greeting.flip());
		int clientFlags = this.input.require(4).getInt();
		if ((clientFlags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0) {
			throw new NbdProtocolException("Unknown client flags 0x" + Integer.toHexString(clientFlags));
		}
		boolean noZeroes = (clientFlags & Nbd.FLAG_C_NO_ZEROES) != 0;
		while (true) {
			NbdHandshakeCodec.OptionHeader header = NbdHandshakeCodec
				.decodeOptionHeader(this.input.require(Nbd.OPTION_HEADER_SIZE));
			int option = header.option();
			if (this.optionsLeft-- == 0) {
				refuseTooManyOptions(header);
				return null;
			}
			if (this.tls.mustWait(option)) {
				if (option == Nbd.OPT_EXPORT_NAME) {
					// The protocol allows no error reply here: the session ends.
					logger.warn("Refused NBD client " + this.remote
							+ ": it selected an export without TLS, which this server requires; closing");
					return null;
				}
				this.input.skip(header.length());
				logger.info("Refused option " + option + " from NBD client " + this.remote
						+ " with NBD_REP_ERR_TLS_REQD: this server requires TLS");
				this.replies.error(option, Nbd.REP_ERR_TLS_REQD,
						"This server requires TLS: send NBD_OPT_STARTTLS first");
				continue;
			}
			switch (option) {
				case Nbd.OPT_STARTTLS -> {
					if (!startTls(header)) {
						return null;
					}
				}
				case Nbd.OPT_EXPORT_NAME -> {
					return exportName(header, noZeroes);
				}
				case Nbd.OPT_GO, Nbd.OPT_INFO -> {
					ByteBuffer data = optionData(header);
					Export selected = (data != null) ? this.exports.infoOrGo(option, data, this.structured) : null;
					if (selected != null) {
						return agreement(selected);
					}
				}
				case Nbd.OPT_LIST -> list(header);
				case Nbd.OPT_ABORT -> {
					this.input.skip(header.length());
					try {
						this.replies.reply(option, Nbd.REP_ACK, null);
					}
					catch (IOException ex) {
						// The client may close without waiting for the reply.
					}
					return null;
				}
				case Nbd.OPT_STRUCTURED_REPLY -> {
					if (emptyOption(header)) {
						this.structured = true;
						this.replies.reply(option, Nbd.REP_ACK, null);
					}
				}
				case Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT -> {
					ByteBuffer data = optionData(header);
					if (data != null) {
						this.exports.metaContext(option, data, this.structured);
					}
				}
				default -> {
					this.input.skip(header.length());
					this.replies.refuse(option, Nbd.REP_ERR_UNSUP, "Option " + option + " is not supported");
				}
			}
		}
	}

	/**
	 * Answers {@code NBD_OPT_STARTTLS} and upgrades the connection; returns false if the
	 * TLS handshake failed.
	 */
	private boolean startTls(NbdHandshakeCodec.OptionHeader header) throws IOException {
		if (!emptyOption(header)) {
			return true;
		}
		if (!this.tls.offered()) {
			this.replies.refuse(header.option(), Nbd.REP_ERR_UNSUP, "TLS is not configured on this server");
			return true;
		}
		if (this.tls.upgraded()) {
			this.replies.refuse(header.option(), Nbd.REP_ERR_INVALID, "TLS is already in use");
			return true;
		}
		this.replies.reply(header.option(), Nbd.REP_ACK, null);
		ChannelInput upgraded = this.tls.upgrade(this.input);
		if (upgraded == null) {
			return false;
		}
		this.input = upgraded;
		// What was agreed in plaintext could have been injected: start over.
		this.structured = false;
		this.exports.forgetMetaContext();
		return true;
	}

	/**
	 * Refuses an option past the limit: with {@code NBD_REP_ERR_POLICY}, except for
	 * {@code NBD_OPT_EXPORT_NAME}, which the protocol lets the server answer only by
	 * closing the connection.
	 */
	private void refuseTooManyOptions(NbdHandshakeCodec.OptionHeader header) throws IOException {
		String reason = "more than " + MAX_OPTIONS + " options without selecting an export";
		logger.warn("Refused NBD client " + this.remote + ": " + reason + "; closing");
		if (header.option() == Nbd.OPT_EXPORT_NAME) {
			return;
		}
		if (header.length() <= MAX_OPTION_DATA) {
			// Read what the client sent, so that it sees the reply before the close.
			this.input.skip(header.length());
		}
		this.replies.error(header.option(), Nbd.REP_ERR_POLICY, "Too many options: " + reason);
	}

	private @Nullable Agreement exportName(NbdHandshakeCodec.OptionHeader header, boolean noZeroes) throws IOException {
		if (header.length() > Nbd.MAX_STRING_LENGTH) {
			throw new NbdProtocolException("Export name longer than " + Nbd.MAX_STRING_LENGTH + " bytes");
		}
		String name = utf8(this.input.readBytes((int) header.length()));
		Optional<Export> found = this.exports.selectable(name);
		if (found.isEmpty()) {
			// The protocol allows no error reply here: the session ends.
			logger.info("NBD client " + this.remote + " asked for unknown export " + LogText.quote(name));
			return null;
		}
		Agreement agreement = agreement(found.get());
		ByteBuffer reply = ByteBuffer.allocate(10 + (noZeroes ? 0 : 124));
		NbdHandshakeCodec.encodeExportNameReply(reply, found.get().device().size(),
				this.exports.transmissionFlags(found.get(), this.structured), !noZeroes);
		this.connection.writeAll(reply.flip());
		return agreement;
	}

	private void list(NbdHandshakeCodec.OptionHeader header) throws IOException {
		if (!emptyOption(header)) {
			return;
		}
		List<Export> exports = this.server.registry()
			.list()
			.stream()
			.filter((export) -> !this.tls.hidden(export))
			.toList();
		for (Export each : exports) {
			ByteBuffer data = ByteBuffer.allocate(4 + NbdCodec.utf8(each.name()).length);
			NbdHandshakeCodec.encodeServerReply(data, each.name());
			this.replies.reply(header.option(), Nbd.REP_SERVER, data.flip());
		}
		this.replies.reply(header.option(), Nbd.REP_ACK, null);
		if (!this.listed) {
			// Room to ask about each export listed, once.
			this.listed = true;
			this.optionsLeft += MAX_OPTIONS * exports.size();
		}
	}

	/**
	 * Reads bounded option data, or skips it and replies with an error (returning null).
	 */
	private @Nullable ByteBuffer optionData(NbdHandshakeCodec.OptionHeader header) throws IOException {
		if (header.length() > MAX_OPTION_DATA) {
			this.input.skip(header.length());
			this.replies.refuse(header.option(), Nbd.REP_ERR_TOO_BIG, "Option data too long");
			return null;
		}
		return this.input.readBytes((int) header.length());
	}

	private boolean emptyOption(NbdHandshakeCodec.OptionHeader header) throws IOException {
		if (header.length() != 0) {
			this.input.skip(header.length());
			this.replies.refuse(header.option(), Nbd.REP_ERR_INVALID, "Option takes no data");
			return false;
		}
		return true;
	}

	/** Selects the export for this connection and returns what was agreed for it. */
	private Agreement agreement(Export selected) {
		boolean blockStatus = this.exports.metaContextFor(selected);
		this.connection.select(selected);
		return new Agreement(selected, this.structured, blockStatus);
	}

	private static String utf8(ByteBuffer data) {
		byte[] bytes = new byte[data.remaining()];
		data.get(bytes);
		return new String(bytes, StandardCharsets.UTF_8);
	}

	/**
	 * What the handshake agreed on for the selected export.
	 *
	 * @param export the selected export
	 * @param structured whether replies are structured
	 * @param blockStatus whether base:allocation was negotiated for this export
	 */
	record Agreement(Export export, boolean structured, boolean blockStatus) {
	}

}

package dev.lockstep.block.nbd;

import java.io.IOException;
import java.net.InetSocketAddress;
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
 * selecting one.
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

	static final int META_CONTEXT_ID = 1;

	private static final int PREFERRED_BLOCK = 4096;

	private final NbdConnection connection;

	private final NbdServer server;

	/** The client's input: plaintext, then over TLS once the client starts it. */
	private ChannelInput input;

	private final SocketAddress remote;

	private final HandshakeTls tls;

	private int optionsLeft = MAX_OPTIONS;

	private boolean listed;

	private boolean structured;

	private @Nullable String metaContextExport;

	NbdHandshake(NbdConnection connection, NbdServer server, ChannelInput input, SocketAddress remote) {
		this.connection = connection;
		this.server = server;
		this.input = input;
		this.remote = remote;
		this.tls = new HandshakeTls(server.tls(), connection, remote);
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
				optionError(option, Nbd.REP_ERR_TLS_REQD, "This server requires TLS: send NBD_OPT_STARTTLS first");
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
					Export selected = infoOrGo(header);
					if (selected != null) {
						return agreement(selected);
					}
				}
				case Nbd.OPT_LIST -> list(header);
				case Nbd.OPT_ABORT -> {
					this.input.skip(header.length());
					try {
						optionReply(option, Nbd.REP_ACK, null);
					}
					catch (IOException ex) {
						// The client may close without waiting for the reply.
					}
					return null;
				}
				case Nbd.OPT_STRUCTURED_REPLY -> {
					if (emptyOption(header)) {
						this.structured = true;
						optionReply(option, Nbd.REP_ACK, null);
					}
				}
				case Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT -> metaContext(header);
				default -> {
					this.input.skip(header.length());
					refuse(option, Nbd.REP_ERR_UNSUP, "Option " + option + " is not supported");
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
			refuse(header.option(), Nbd.REP_ERR_UNSUP, "TLS is not configured on this server");
			return true;
		}
		if (this.tls.upgraded()) {
			refuse(header.option(), Nbd.REP_ERR_INVALID, "TLS is already in use");
			return true;
		}
		optionReply(header.option(), Nbd.REP_ACK, null);
		ChannelInput upgraded = this.tls.upgrade(this.input);
		if (upgraded == null) {
			return false;
		}
		this.input = upgraded;
		// What was agreed in plaintext could have been injected: start over.
		this.structured = false;
		this.metaContextExport = null;
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
		optionError(header.option(), Nbd.REP_ERR_POLICY, "Too many options: " + reason);
	}

	private @Nullable Agreement exportName(NbdHandshakeCodec.OptionHeader header, boolean noZeroes) throws IOException {
		if (header.length() > Nbd.MAX_STRING_LENGTH) {
			throw new NbdProtocolException("Export name longer than " + Nbd.MAX_STRING_LENGTH + " bytes");
		}
		String name = utf8(this.input.readBytes((int) header.length()));
		Optional<Export> found = this.server.registry()
			.find(name)
			.filter(this::admitted)
			.filter((candidate) -> this.tls.refusal(candidate) == 0);
		if (found.isEmpty()) {
			// The protocol allows no error reply here: the session ends.
			logger.info("NBD client " + this.remote + " asked for unknown export " + LogText.quote(name));
			return null;
		}
		Agreement agreement = agreement(found.get());
		ByteBuffer reply = ByteBuffer.allocate(10 + (noZeroes ? 0 : 124));
		NbdHandshakeCodec.encodeExportNameReply(reply, found.get().device().size(), transmissionFlags(found.get()),
				!noZeroes);
		this.connection.writeAll(reply.flip());
		return agreement;
	}

	/** Answers INFO or GO; returns the export GO selected, or null. */
	private @Nullable Export infoOrGo(NbdHandshakeCodec.OptionHeader header) throws IOException {
		int option = header.option();
		ByteBuffer data = optionData(header);
		if (data == null) {
			return null;
		}
		NbdHandshakeCodec.InfoRequest request;
		try {
			request = NbdHandshakeCodec.decodeInfoRequest(data);
		}
		catch (NbdProtocolException ex) {
			refuse(option, Nbd.REP_ERR_INVALID, ex.getMessage());
			return null;
		}
		Optional<Export> found = this.server.registry().find(request.exportName());
		if (found.isEmpty()) {
			logger
				.info("NBD client " + this.remote + " asked for unknown export " + LogText.quote(request.exportName()));
			optionError(option, Nbd.REP_ERR_UNKNOWN, "Export '" + request.exportName() + "' does not exist");
			return null;
		}
		Export selected = found.get();
		if (!admitted(selected)) {
			optionError(option, Nbd.REP_ERR_POLICY,
					"Export '" + request.exportName() + "' accepts only the configured peer");
			return null;
		}
		int tlsRefusal = this.tls.refusal(selected);
		if (tlsRefusal != 0) {
			optionError(option, tlsRefusal,
					(tlsRefusal == Nbd.REP_ERR_TLS_REQD)
							? "Export '" + request.exportName()
									+ "' is served only over TLS: send NBD_OPT_STARTTLS first"
							: "Export '" + request.exportName() + "' accepts only the configured peers' certificates");
			return null;
		}
		ByteBuffer info = ByteBuffer.allocate(14);
		NbdHandshakeCodec.encodeInfoExport(info, selected.device().size(), transmissionFlags(selected));
		optionReply(option, Nbd.REP_INFO, info.flip());
		if (request.infos().contains(Nbd.INFO_NAME)) {
			info = ByteBuffer.allocate(2 + NbdCodec.utf8(selected.name()).length);
			NbdHandshakeCodec.encodeInfoString(info, Nbd.INFO_NAME, selected.name());
			optionReply(option, Nbd.REP_INFO, info.flip());
		}
		if (request.infos().contains(Nbd.INFO_DESCRIPTION) && !selected.description().isEmpty()) {
			info = ByteBuffer.allocate(2 + NbdCodec.utf8(selected.description()).length);
			NbdHandshakeCodec.encodeInfoString(info, Nbd.INFO_DESCRIPTION, selected.description());
			optionReply(option, Nbd.REP_INFO, info.flip());
		}
		info = ByteBuffer.allocate(14);
		NbdHandshakeCodec.encodeInfoBlockSize(info, 1, PREFERRED_BLOCK, NbdServer.MAX_REQUEST);
		optionReply(option, Nbd.REP_INFO, info.flip());
		optionReply(option, Nbd.REP_ACK, null);
		return (option == Nbd.OPT_GO) ? selected : null;
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
			optionReply(header.option(), Nbd.REP_SERVER, data.flip());
		}
		optionReply(header.option(), Nbd.REP_ACK, null);
		if (!this.listed) {
			// Room to ask about each export listed, once.
			this.listed = true;
			this.optionsLeft += MAX_OPTIONS * exports.size();
		}
	}

	private void metaContext(NbdHandshakeCodec.OptionHeader header) throws IOException {
		int option = header.option();
		ByteBuffer data = optionData(header);
		if (data == null) {
			return;
		}
		if (!this.structured) {
			refuse(option, Nbd.REP_ERR_INVALID, "Structured replies must be negotiated first");
			return;
		}
		NbdHandshakeCodec.MetaContextRequest request;
		try {
			request = NbdHandshakeCodec.decodeMetaContextRequest(data);
		}
		catch (NbdProtocolException ex) {
			refuse(option, Nbd.REP_ERR_INVALID, ex.getMessage());
			return;
		}
		Optional<Export> known = this.server.registry().find(request.exportName());
		if (known.isEmpty()) {
			refuse(option, Nbd.REP_ERR_UNKNOWN, "Export '" + request.exportName() + "' does not exist");
			return;
		}
		if (this.tls.hidden(known.get())) {
			refuse(option, Nbd.REP_ERR_TLS_REQD, "Export '" + request.exportName() + "' is served only over TLS");
			return;
		}
		boolean list = option == Nbd.OPT_LIST_META_CONTEXT;
		boolean match = (list && request.queries().isEmpty()) || request.queries()
			.stream()
			.anyMatch((query) -> query.equals(Nbd.META_CONTEXT_BASE_ALLOCATION) || (list && query.equals("base:")));
		if (match) {
			ByteBuffer reply = ByteBuffer.allocate(4 + Nbd.META_CONTEXT_BASE_ALLOCATION.length());
			NbdHandshakeCodec.encodeMetaContextReply(reply, list ? 0 : META_CONTEXT_ID,
					Nbd.META_CONTEXT_BASE_ALLOCATION);
			optionReply(option, Nbd.REP_META_CONTEXT, reply.flip());
		}
		if (!list) {
			this.metaContextExport = match ? request.exportName() : null;
		}
		optionReply(option, Nbd.REP_ACK, null);
	}

	/**
	 * Reads bounded option data, or skips it and replies with an error (returning null).
	 */
	private @Nullable ByteBuffer optionData(NbdHandshakeCodec.OptionHeader header) throws IOException {
		if (header.length() > MAX_OPTION_DATA) {
			this.input.skip(header.length());
			refuse(header.option(), Nbd.REP_ERR_TOO_BIG, "Option data too long");
			return null;
		}
		return this.input.readBytes((int) header.length());
	}

	private boolean emptyOption(NbdHandshakeCodec.OptionHeader header) throws IOException {
		if (header.length() != 0) {
			this.input.skip(header.length());
			refuse(header.option(), Nbd.REP_ERR_INVALID, "Option takes no data");
			return false;
		}
		return true;
	}

	/** Selects the export for this connection and returns what was agreed for it. */
	private Agreement agreement(Export selected) {
		String context = this.metaContextExport;
		if (context != null && this.server.registry().find(context).orElse(null) != selected) {
			// Meta contexts were negotiated for another export.
			this.metaContextExport = null;
		}
		this.connection.select(selected);
		return new Agreement(selected, this.structured, this.metaContextExport != null);
	}

	private int transmissionFlags(Export selected) {
		int flags = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_CAN_MULTI_CONN;
		if (selected.readOnly()) {
			flags |= Nbd.FLAG_READ_ONLY;
		}
		else {
			flags |= Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES;
		}
		if (this.structured) {
			flags |= Nbd.FLAG_SEND_DF;
		}
		return flags;
	}

	private void optionReply(int option, int type, @Nullable ByteBuffer data) throws IOException {
		ByteBuffer header = ByteBuffer.allocate(Nbd.OPTION_REPLY_HEADER_SIZE);
		NbdHandshakeCodec.encodeOptionReplyHeader(header, option, type, (data != null) ? data.remaining() : 0);
		header.flip();
		if (data != null) {
			this.connection.writeAll(header, data);
		}
		else {
			this.connection.writeAll(header);
		}
	}

	/**
	 * Refuses an option the handshake goes on after: logged at debug level, as the client
	 * is told why.
	 */
	private void refuse(int option, int type, @Nullable String message) throws IOException {
		logger.debug("Refused option " + option + " from NBD client " + this.remote + " with 0x"
				+ Integer.toHexString(type) + ": " + LogText.quote(message));
		optionError(option, type, message);
	}

	private void optionError(int option, int type, @Nullable String message) throws IOException {
		optionReply(option, type, ByteBuffer.wrap(NbdCodec.utf8((message != null) ? message : "")));
	}

	private boolean admitted(Export candidate) {
		boolean admitted = !(this.remote instanceof InetSocketAddress address)
				|| candidate.admits(address.getAddress());
		if (!admitted) {
			logger.warn("Refused NBD client " + this.remote + " for export " + LogText.quote(candidate.name())
					+ ": it accepts only the configured peer");
		}
		return admitted;
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

package dev.lockstep.block.nbd;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.Optional;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.lockstep.block.Export;
import dev.lockstep.block.ExportRegistry;
import dev.lockstep.logging.LogText;

/**
 * The exports' side of one connection's handshake, beside {@link HandshakeTls}: which
 * export a client may select by name or ask about, what {@code NBD_OPT_INFO} and
 * {@code NBD_OPT_GO} tell it (size, transmission flags, name, description, block sizes),
 * and the {@code base:allocation} meta context it negotiates for one export.
 */
final class HandshakeExports {

	private static final Log logger = LogFactory.getLog(HandshakeExports.class);

	static final int META_CONTEXT_ID = 1;

	private static final int PREFERRED_BLOCK = 4096;

	private final ExportRegistry registry;

	private final HandshakeTls tls;

	private final OptionReplies replies;

	private final SocketAddress remote;

	/** The export {@code base:allocation} was negotiated for; null if none. */
	private @Nullable String metaContextExport;

	HandshakeExports(ExportRegistry registry, HandshakeTls tls, OptionReplies replies, SocketAddress remote) {
		this.registry = registry;
		this.tls = tls;
		this.replies = replies;
		this.remote = remote;
	}

	/**
	 * The export {@code NBD_OPT_EXPORT_NAME} names, if this client may select it; a
	 * refusal for its address or certificate is logged.
	 */
	Optional<Export> selectable(String name) {
		return this.registry.find(name).filter(this::admitted).filter((candidate) -> this.tls.refusal(candidate) == 0);
	}

	/**
	 * Answers INFO or GO from the option's data; returns the export GO selected, or null.
	 */
	@Nullable Export infoOrGo(int option, ByteBuffer data, boolean structured) throws IOException {
		NbdHandshakeCodec.InfoRequest request;
		try {
			request = NbdHandshakeCodec.decodeInfoRequest(data);
		}
		catch (NbdProtocolException ex) {
			this.replies.refuse(option, Nbd.REP_ERR_INVALID, ex.getMessage());
			return null;
		}
		Optional<Export> found = this.registry.find(request.exportName());
		if (found.isEmpty()) {
			logger
				.info("NBD client " + this.remote + " asked for unknown export " + LogText.quote(request.exportName()));
			this.replies.error(option, Nbd.REP_ERR_UNKNOWN, "Export '" + request.exportName() + "' does not exist");
			return null;
		}
		Export selected = found.get();
		if (!admitted(selected)) {
			this.replies.error(option, Nbd.REP_ERR_POLICY,
					"Export '" + request.exportName() + "' accepts only the configured peer");
			return null;
		}
		int tlsRefusal = this.tls.refusal(selected);
		if (tlsRefusal != 0) {
			this.replies.error(option, tlsRefusal,
					(tlsRefusal == Nbd.REP_ERR_TLS_REQD)
							? "Export '" + request.exportName()
									+ "' is served only over TLS: send NBD_OPT_STARTTLS first"
							: "Export '" + request.exportName() + "' accepts only the configured peers' certificates");
			return null;
		}
		ByteBuffer info = ByteBuffer.allocate(14);
		NbdHandshakeCodec.encodeInfoExport(info, selected.device().size(), transmissionFlags(selected, structured));
		this.replies.reply(option, Nbd.REP_INFO, info.flip());
		if (request.infos().contains(Nbd.INFO_NAME)) {
			info = ByteBuffer.allocate(2 + NbdCodec.utf8(selected.name()).length);
			NbdHandshakeCodec.encodeInfoString(info, Nbd.INFO_NAME, selected.name());
			this.replies.reply(option, Nbd.REP_INFO, info.flip());
		}
		if (request.infos().contains(Nbd.INFO_DESCRIPTION) && !selected.description().isEmpty()) {
			info = ByteBuffer.allocate(2 + NbdCodec.utf8(selected.description()).length);
			NbdHandshakeCodec.encodeInfoString(info, Nbd.INFO_DESCRIPTION, selected.description());
			this.replies.reply(option, Nbd.REP_INFO, info.flip());
		}
		info = ByteBuffer.allocate(14);
		NbdHandshakeCodec.encodeInfoBlockSize(info, 1, PREFERRED_BLOCK, NbdServer.MAX_REQUEST);
		this.replies.reply(option, Nbd.REP_INFO, info.flip());
		this.replies.reply(option, Nbd.REP_ACK, null);
		return (option == Nbd.OPT_GO) ? selected : null;
	}

	/**
	 * Answers {@code NBD_OPT_LIST_META_CONTEXT} or {@code NBD_OPT_SET_META_CONTEXT} from
	 * the option's data.
	 */
	void metaContext(int option, ByteBuffer data, boolean structured) throws IOException {
		if (!structured) {
			this.replies.refuse(option, Nbd.REP_ERR_INVALID, "Structured replies must be negotiated first");
			return;
		}
		NbdHandshakeCodec.MetaContextRequest request;
		try {
			request = NbdHandshakeCodec.decodeMetaContextRequest(data);
		}
		catch (NbdProtocolException ex) {
			this.replies.refuse(option, Nbd.REP_ERR_INVALID, ex.getMessage());
			return;
		}
		Optional<Export> known = this.registry.find(request.exportName());
		if (known.isEmpty()) {
			this.replies.refuse(option, Nbd.REP_ERR_UNKNOWN, "Export '" + request.exportName() + "' does not exist");
			return;
		}
		if (this.tls.hidden(known.get())) {
			this.replies.refuse(option, Nbd.REP_ERR_TLS_REQD,
					"Export '" + request.exportName() + "' is served only over TLS");
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
			this.replies.reply(option, Nbd.REP_META_CONTEXT, reply.flip());
		}
		if (!list) {
			this.metaContextExport = match ? request.exportName() : null;
		}
		this.replies.reply(option, Nbd.REP_ACK, null);
	}

	/**
	 * Whether {@code base:allocation} was negotiated for the export the client selects; a
	 * context negotiated for another export is forgotten.
	 */
	boolean metaContextFor(Export selected) {
		String context = this.metaContextExport;
		if (context != null && this.registry.find(context).orElse(null) != selected) {
			// Meta contexts were negotiated for another export.
			this.metaContextExport = null;
		}
		return this.metaContextExport != null;
	}

	/** Forgets the meta context negotiated so far, as after STARTTLS. */
	void forgetMetaContext() {
		this.metaContextExport = null;
	}

	int transmissionFlags(Export selected, boolean structured) {
		int flags = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_CAN_MULTI_CONN;
		if (selected.readOnly()) {
			flags |= Nbd.FLAG_READ_ONLY;
		}
		else {
			flags |= Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES;
		}
		if (structured) {
			flags |= Nbd.FLAG_SEND_DF;
		}
		return flags;
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

}

package dev.lockstep.block.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.List;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.lockstep.block.Export;
import dev.lockstep.block.nbd.tls.TlsPolicy;
import dev.lockstep.logging.LogText;

/**
 * The TLS side of one connection's handshake: whether an option must wait for TLS, the
 * upgrade after {@code NBD_OPT_STARTTLS}, and which exports a client may see and select
 * with or without TLS and with which certificate.
 */
final class HandshakeTls {

	private static final Log logger = LogFactory.getLog(HandshakeTls.class);

	/** The first byte of a TLS handshake record. */
	private static final int TLS_HANDSHAKE_RECORD = 0x16;

	private final ServerTls settings;

	private final NbdConnection connection;

	private final SocketAddress remote;

	private State state = State.PLAINTEXT;

	/** The names in the client's certificate; null without TLS or without one. */
	private @Nullable List<String> peerNames;

	HandshakeTls(ServerTls settings, NbdConnection connection, SocketAddress remote) {
		this.settings = settings;
		this.connection = connection;
		this.remote = remote;
	}

	boolean offered() {
		return this.settings.mode() != ServerTls.Mode.OFF;
	}

	boolean upgraded() {
		return this.state == State.UPGRADED;
	}

	/** Whether {@code option} is refused until TLS is started (FORCEDTLS). */
	boolean mustWait(int option) {
		return this.settings.forced() && this.state == State.PLAINTEXT && option != Nbd.OPT_STARTTLS
				&& option != Nbd.OPT_ABORT;
	}

	/**
	 * Runs the TLS handshake once the server has acknowledged STARTTLS.
	 * @param input what has been read from the client so far
	 * @return the input over TLS, or {@code null} if the handshake failed (logged, and
	 * the connection is to be closed)
	 */
	@Nullable ChannelInput upgrade(ChannelInput input) throws IOException {
		SSLEngine engine = this.settings.newEngine();
		try {
			ByteBuffer head = input.require(1);
			if (Byte.toUnsignedInt(head.get(head.position())) != TLS_HANDSHAKE_RECORD) {
				this.state = State.FAILED;
				logger.warn("TLS handshake with NBD client " + this.remote
						+ " failed: it sent something other than a TLS handshake after NBD_OPT_STARTTLS; closing");
				return null;
			}
			ChannelInput upgraded = this.connection.startTls(engine, input);
			this.state = State.UPGRADED;
			this.peerNames = TlsPolicy.peerNames(this.connection.tlsSession());
			logger.debug("NBD client " + this.remote + " started TLS (" + engine.getSession().getProtocol() + ", "
					+ engine.getSession().getCipherSuite() + "), certificate names " + this.peerNames);
			return upgraded;
		}
		catch (SSLException ex) {
			this.state = State.FAILED;
			logger.warn("TLS handshake with NBD client " + this.remote + " failed: "
					+ LogText.quote(TlsPolicy.describe(ex, "client")) + "; closing");
			return null;
		}
		catch (EOFException ex) {
			this.state = State.FAILED;
			logger.warn("NBD client " + this.remote + " closed the connection during the TLS handshake; closing");
			return null;
		}
	}

	/** Whether a plaintext client's {@code NBD_OPT_LIST} leaves out this export. */
	boolean hidden(Export export) {
		return export.tlsOnly() && !upgraded();
	}

	/**
	 * Why a client may not select or ask about {@code export}: an option reply error
	 * type, or 0 if it may.
	 */
	int refusal(Export export) {
		if (export.tlsOnly() && !upgraded()) {
			logger.info("Refused NBD client " + this.remote + " for export " + LogText.quote(export.name())
					+ ": it is served only over TLS and the client did not send NBD_OPT_STARTTLS");
			return Nbd.REP_ERR_TLS_REQD;
		}
		if (!export.admitsPeerNames(this.peerNames)) {
			List<String> names = this.peerNames;
			logger.warn("Refused NBD client " + this.remote + " for export " + LogText.quote(export.name()) + ": "
					+ ((names == null) ? "it presented no client certificate" : "its certificate names "
							+ LogText.quote(String.valueOf(names)) + ", none of lockstep.block.replica.allowed-peers"));
			return Nbd.REP_ERR_POLICY;
		}
		return 0;
	}

	/** Where the connection stands with TLS. */
	private enum State {

		/** No TLS yet. */
		PLAINTEXT,

		/** The TLS handshake completed. */
		UPGRADED,

		/** The TLS handshake failed; the connection is closing. */
		FAILED

	}

}

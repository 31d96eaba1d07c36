package dev.lockstep.block.nbd;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.util.Assert;

import dev.lockstep.block.Export;
import dev.lockstep.block.nbd.tls.TlsChannel;
import dev.lockstep.logging.LogText;

/**
 * One client connection: runs the handshake ({@link NbdHandshake}), then the transmission
 * phase ({@link NbdTransmission}), and owns what both share: the socket, the selected
 * export and the client's arrival and departure there.
 */
final class NbdConnection {

	private static final Log logger = LogFactory.getLog(NbdConnection.class);

	private final NbdServer server;

	private final SocketChannel channel;

	private final SocketAddress remote;

	private volatile ChannelInput input;

	/** The TLS channel once the client has started TLS; null for plaintext. */
	private volatile @Nullable TlsChannel tls;

	private final AtomicBoolean closed = new AtomicBoolean();

	private final AtomicBoolean counted = new AtomicBoolean();

	/** Whether the client asked to disconnect ({@code NBD_CMD_DISC}). */
	private volatile boolean disconnectRequested;

	private volatile @Nullable Future<?> handshakeTimeout;

	private volatile @Nullable Export export;

	/**
	 * What to tell the selected export when this client is gone; set once, when it is
	 * selected.
	 */
	private volatile Export.ClientListener.@Nullable Departure departure;

	private volatile @Nullable NbdTransmission transmission;

	NbdConnection(NbdServer server, SocketChannel channel) throws IOException {
		this.server = server;
		this.channel = channel;
		this.remote = channel.getRemoteAddress();
		this.input = new ChannelInput(channel, 128 * 1024);
	}

	@Nullable Export export() {
		return this.export;
	}

	void handshakeTimeout(Future<?> timeout) {
		this.handshakeTimeout = timeout;
	}

	void handshakeTimedOut() {
		if (this.export == null && !this.closed.get()) {
			logger.info("NBD client " + this.remote + " did not finish the handshake in time; closing");
			close();
		}
	}

	/** Runs the handshake, then serves requests as the connection's first thread. */
	void run() {
		NbdTransmission serving;
		try {
			this.server.scheduleHandshakeTimeout(this);
			NbdHandshake.Agreement agreement = new NbdHandshake(this, this.server, this.input, this.remote).negotiate();
			// The handshake may have replaced the input with one over TLS.
			if (agreement == null) {
				close();
				return;
			}
			Future<?> timeout = this.handshakeTimeout;
			if (timeout != null) {
				timeout.cancel(false);
			}
			logger.debug("NBD client " + this.remote + " selected export " + LogText.quote(agreement.export().name()));
			serving = new NbdTransmission(this, this.server, this.channel, this.remote, this.input, agreement);
		}
		catch (NbdProtocolException ex) {
			logger
				.warn("NBD client " + this.remote + " violated the protocol during the handshake: " + ex.getMessage());
			close();
			return;
		}
		catch (IOException | RuntimeException ex) {
			logger.debug("NBD handshake with " + this.remote + " ended: " + ex);
			close();
			return;
		}
		this.transmission = serving;
		if (this.closed.get()) {
			serving.stop();
		}
		serving.start();
	}

	/**
	 * Runs the TLS handshake on the socket and from then on reads and writes through it.
	 * @param engine the server-mode engine
	 * @param input the plaintext input, whose buffered bytes belong to the TLS handshake
	 * @return the input over TLS
	 */
	ChannelInput startTls(SSLEngine engine, ChannelInput input) throws IOException {
		TlsChannel upgraded = TlsChannel.open(this.channel, engine, input.takeBuffered());
		this.tls = upgraded;
		ChannelInput decrypted = new ChannelInput(upgraded, 128 * 1024);
		this.input = decrypted;
		return decrypted;
	}

	/** The TLS session, once TLS is started. */
	SSLSession tlsSession() {
		TlsChannel upgraded = this.tls;
		Assert.state(upgraded != null, "TLS has been started");
		return upgraded.session();
	}

	/** Bytes received but not read yet by the TLS layer; 0 for plaintext. */
	int tlsBuffered() {
		TlsChannel upgraded = this.tls;
		return (upgraded != null) ? upgraded.buffered() : 0;
	}

	/** Called by the handshake when the client selects an export. */
	void select(Export selected) {
		this.export = selected;
		if (this.departure == null) {
			// Set before counted, so that whoever uncounts the client finds it.
			Export.ClientListener.Departure left = selected.clientArrived(this::close);
			this.departure = left;
			selected.stats().clientConnected();
			this.counted.set(true);
			if (this.closed.get() && this.counted.compareAndSet(true, false)) {
				selected.stats().clientDisconnected();
				left.left(this.disconnectRequested);
			}
		}
	}

	/** Called by the transmission phase when the client sends {@code NBD_CMD_DISC}. */
	void disconnectRequested() {
		this.disconnectRequested = true;
	}

	boolean isClosed() {
		return this.closed.get();
	}

	/** Writes whole buffers to the socket; callers serialize writes. */
	void writeAll(ByteBuffer... buffers) throws IOException {
		ByteBuffer last = buffers[buffers.length - 1];
		TlsChannel upgraded = this.tls;
		if (upgraded != null) {
			while (last.hasRemaining()) {
				upgraded.write(buffers);
			}
			return;
		}
		if (buffers.length == 1) {
			while (last.hasRemaining()) {
				this.channel.write(last);
			}
			return;
		}
		while (last.hasRemaining()) {
			this.channel.write(buffers);
		}
	}

	/** Closes the socket; running threads notice and end. */
	void close() {
		if (this.closed.compareAndSet(false, true)) {
			NbdTransmission serving = this.transmission;
			if (serving != null) {
				serving.stop();
			}
			try {
				TlsChannel upgraded = this.tls;
				if (upgraded != null) {
					upgraded.close();
				}
				else {
					this.channel.close();
				}
			}
			catch (IOException ex) {
				// Closing anyway.
			}
			Future<?> timeout = this.handshakeTimeout;
			if (timeout != null) {
				timeout.cancel(false);
			}
			Export current = this.export;
			Export.ClientListener.Departure left = this.departure;
			if (current != null && left != null && this.counted.compareAndSet(true, false)) {
				current.stats().clientDisconnected();
				left.left(this.disconnectRequested);
			}
			this.server.closed(this);
		}
	}

}

package dev.lockstep.block.nbd;

import java.util.function.Supplier;

import javax.net.ssl.SSLEngine;

import org.jspecify.annotations.Nullable;

import org.springframework.util.Assert;

/**
 * How the server answers {@code NBD_OPT_STARTTLS}.
 *
 * @param mode whether TLS is offered, and whether it is required
 * @param engines makes a server-mode engine for each upgrading connection, configured
 * with the current certificate and whether a client certificate is wanted or needed;
 * {@code null} when the mode is {@link Mode#OFF}
 */
public record ServerTls(Mode mode, @Nullable Supplier<SSLEngine> engines) {

	/** No TLS: today's plaintext server. */
	public static final ServerTls OFF = new ServerTls(Mode.OFF, null);

	public ServerTls {
		Assert.isTrue(mode == Mode.OFF || engines != null, "TLS needs a source of engines");
	}

	/** Whether every export needs TLS (the protocol's FORCEDTLS). */
	boolean forced() {
		return this.mode == Mode.REQUIRED;
	}

	/** Makes the engine for one connection. */
	SSLEngine newEngine() {
		Supplier<SSLEngine> source = this.engines;
		Assert.state(source != null, "TLS is offered only with a source of engines");
		return source.get();
	}

	/** Whether TLS is offered, and whether it is required. */
	public enum Mode {

		/** {@code NBD_OPT_STARTTLS} is unsupported. */
		OFF,

		/** Clients may upgrade (the protocol's SELECTIVETLS for TLS-only exports). */
		OPTIONAL,

		/** Clients must upgrade before anything else (FORCEDTLS). */
		REQUIRED

	}

}

package dev.lockstep.block;

import java.util.Arrays;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.boot.ssl.SslOptions;

import dev.lockstep.block.nbd.tls.TlsPolicy;

/**
 * TLS engines for NBD from a Spring Boot SSL bundle ({@code lockstep.block.nbd.tls}):
 * server engines for the NBD server and client engines for the primary's link to its
 * secondary. When the bundle is reloaded, later connections use the new material;
 * connections already open keep theirs.
 */
public final class NbdTlsEngines {

	private static final Log logger = LogFactory.getLog(NbdTlsEngines.class);

	private final String bundleName;

	private final BlockProperties.ClientAuth clientAuth;

	private volatile Material material;

	/**
	 * Loads the bundle and follows its updates.
	 * @param bundles the application's SSL bundles
	 * @param bundleName the bundle's name
	 * @param clientAuth whether the server asks clients for a certificate
	 */
	public NbdTlsEngines(SslBundles bundles, String bundleName, BlockProperties.ClientAuth clientAuth) {
		this.bundleName = bundleName;
		this.clientAuth = clientAuth;
		this.material = new Material(bundles.getBundle(bundleName));
		bundles.addBundleUpdateHandler(bundleName, (bundle) -> {
			this.material = new Material(bundle);
			logger.info("SSL bundle '" + bundleName + "' reloaded; new NBD connections use it");
		});
	}

	/** A server-mode engine for one connection. */
	public SSLEngine serverEngine() {
		Material current = this.material;
		SSLEngine engine = current.context.createSSLEngine();
		engine.setUseClientMode(false);
		current.restrict(engine);
		switch (this.clientAuth) {
			case NEED -> engine.setNeedClientAuth(true);
			case WANT -> engine.setWantClientAuth(true);
			case NONE -> engine.setWantClientAuth(false);
		}
		return engine;
	}

	/**
	 * A client-mode engine that checks the server's certificate names {@code host}, as an
	 * HTTPS client would.
	 * @param host the host name or address the client connects to
	 * @param port the port
	 * @return the engine
	 */
	public SSLEngine clientEngine(String host, int port) {
		Material current = this.material;
		SSLEngine engine = current.context.createSSLEngine(host, port);
		engine.setUseClientMode(true);
		current.restrict(engine);
		SSLParameters parameters = engine.getSSLParameters();
		parameters.setEndpointIdentificationAlgorithm("HTTPS");
		engine.setSSLParameters(parameters);
		return engine;
	}

	@Override
	public String toString() {
		return "SSL bundle '" + this.bundleName + "'";
	}

	/** One version of the bundle: its context and the options it narrows engines to. */
	private static final class Material {

		private final SSLContext context;

		private final SslOptions options;

		Material(SslBundle bundle) {
			this.context = bundle.createSslContext();
			this.options = bundle.getOptions();
		}

		void restrict(SSLEngine engine) {
			String[] enabledProtocols = this.options.getEnabledProtocols();
			if (enabledProtocols != null && enabledProtocols.length > 0) {
				List<String> protocols = List.of(enabledProtocols);
				engine.setEnabledProtocols(Arrays.stream(engine.getSupportedProtocols())
					.filter(protocols::contains)
					.toArray(String[]::new));
			}
			String[] enabledCiphers = this.options.getCiphers();
			if (enabledCiphers != null && enabledCiphers.length > 0) {
				List<String> ciphers = List.of(enabledCiphers);
				engine.setEnabledCipherSuites(Arrays.stream(engine.getSupportedCipherSuites())
					.filter(ciphers::contains)
					.toArray(String[]::new));
			}
			TlsPolicy.apply(engine);
		}

	}

}

package dev.lockstep.https;

import java.net.Socket;
import java.net.http.HttpClient;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509KeyManager;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.ssl.NoSuchSslBundleException;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.boot.ssl.SslOptions;

/**
 * The TLS configuration of an HTTPS client: the trust material and, when the bundle has a
 * key, the client certificate of a Spring Boot SSL bundle, or the JDK's default trust
 * store without one. Host names are verified by the client as always. When the bundle is
 * reloaded ({@code reload-on-update}), new connections use the new material; pooled ones
 * go on. A refused server certificate fails the handshake with a
 * {@link CertificateRefusedException} that says whether it was untrusted, expired or
 * named another host.
 */
public final class ClientTls {

	private static final Log logger = LogFactory.getLog(ClientTls.class);

	private final String source;

	private final SSLContext sslContext;

	private final @Nullable SSLParameters sslParameters;

	private volatile Managers managers;

	private ClientTls(String source, Managers managers, String protocol, SslOptions options) {
		this.source = source;
		this.managers = managers;
		try {
			this.sslContext = SSLContext.getInstance(protocol);
			this.sslContext.init(new KeyManager[] { new CurrentKeyManager() },
					new TrustManager[] { new ClassifyingTrustManager() }, null);
		}
		catch (GeneralSecurityException ex) {
			throw new IllegalStateException("Cannot create the TLS context of " + source + ": " + ex.getMessage(), ex);
		}
		this.sslParameters = parameters(options);
	}

	/**
	 * Returns the JDK's default trust store, without a client certificate.
	 * @return the configuration
	 */
	public static ClientTls systemDefault() {
		try {
			TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
			factory.init((KeyStore) null);
			return new ClientTls("the JDK's default trust store",
					new Managers(null, trustManager(factory.getTrustManagers())), SslBundle.DEFAULT_PROTOCOL,
					SslOptions.NONE);
		}
		catch (GeneralSecurityException ex) {
			throw new IllegalStateException("Cannot read the JDK's default trust store: " + ex.getMessage(), ex);
		}
	}

	/**
	 * Returns the trust material and client certificate of a named SSL bundle, and
	 * follows its reloads.
	 * @param bundles the application's SSL bundles
	 * @param name the bundle's name
	 * @param property the setting that names the bundle, for messages
	 * @return the configuration
	 * @throws IllegalStateException if there is no such bundle
	 */
	public static ClientTls fromBundle(SslBundles bundles, String name, String property) {
		SslBundle bundle;
		try {
			bundle = bundles.getBundle(name);
		}
		catch (NoSuchSslBundleException ex) {
			throw new IllegalStateException(property + " names the SSL bundle '" + name
					+ "', which is not defined: define it under spring.ssl.bundle.pem." + name
					+ " or spring.ssl.bundle.jks." + name, ex);
		}
		ClientTls tls = new ClientTls("the SSL bundle '" + name + "'", managers(bundle), bundle.getProtocol(),
				bundle.getOptions());
		bundles.addBundleUpdateHandler(name, tls::reload);
		return tls;
	}

	/**
	 * Sets this TLS configuration on an HTTP client under construction.
	 * @param builder the client's builder
	 * @return the builder
	 */
	public HttpClient.Builder configure(HttpClient.Builder builder) {
		builder.sslContext(this.sslContext);
		SSLParameters parameters = this.sslParameters;
		if (parameters != null) {
			builder.sslParameters(parameters);
		}
		return builder;
	}

	/**
	 * Returns where the trust material comes from, for messages.
	 * @return such as {@code the SSL bundle 'peer'}
	 */
	public String source() {
		return this.source;
	}

	/**
	 * Returns whether a client certificate is presented when a server asks for one.
	 * @return whether the trust material comes with a key
	 */
	public boolean hasClientCertificate() {
		X509KeyManager keyManager = this.managers.keyManager();
		if (keyManager == null) {
			return false;
		}
		for (String keyType : new String[] { "RSA", "EC", "EdDSA", "Ed25519", "RSASSA-PSS" }) {
			String[] aliases = keyManager.getClientAliases(keyType, null);
			if (aliases != null && aliases.length > 0) {
				return true;
			}
		}
		return false;
	}

	@Override
	public String toString() {
		return "ClientTls from " + this.source;
	}

	/**
	 * Describes a failed call if TLS made it fail.
	 * @param ex the failure, with its causes
	 * @return a message that starts with {@code TLS failure}, or empty if the failure was
	 * not one of TLS
	 */
	public static Optional<String> describe(@Nullable Throwable ex) {
		SSLException ssl = null;
		int depth = 0;
		for (Throwable candidate = ex; candidate != null && depth < 20; candidate = candidate.getCause(), depth++) {
			if (candidate instanceof CertificateRefusedException refused) {
				return Optional.of("TLS failure, server certificate " + refused.reason().description() + ": "
						+ refused.getMessage());
			}
			if (candidate instanceof SSLException found && ssl == null) {
				ssl = found;
			}
		}
		if (ssl == null) {
			return Optional.empty();
		}
		String message = ssl.getMessage();
		return Optional.of("TLS failure, handshake failed: "
				+ ((message != null && !message.isBlank()) ? message : ssl.getClass().getSimpleName())
				+ " (a server that does not speak TLS, or one that refused this node's client certificate)");
	}

	private void reload(SslBundle bundle) {
		try {
			this.managers = managers(bundle);
			logger.info("Reloaded " + this.source + " for new HTTPS connections");
		}
		catch (RuntimeException ex) {
			logger.error("Could not reload " + this.source + "; new HTTPS connections go on with the previous one", ex);
		}
	}

	private static Managers managers(SslBundle bundle) {
		X509KeyManager keyManager = null;
		for (KeyManager candidate : bundle.getManagers().getKeyManagers()) {
			if (candidate instanceof X509KeyManager x509) {
				keyManager = x509;
				break;
			}
		}
		return new Managers(keyManager, trustManager(bundle.getManagers().getTrustManagers()));
	}

	private static X509ExtendedTrustManager trustManager(TrustManager[] candidates) {
		for (TrustManager candidate : candidates) {
			if (candidate instanceof X509ExtendedTrustManager extended) {
				return extended;
			}
		}
		throw new IllegalStateException("The trust material has no X.509 trust manager that verifies host names");
	}

	private static @Nullable SSLParameters parameters(SslOptions options) {
		if (!options.isSpecified()) {
			return null;
		}
		SSLParameters parameters = new SSLParameters();
		String[] ciphers = options.getCiphers();
		if (ciphers != null) {
			parameters.setCipherSuites(ciphers);
		}
		String[] protocols = options.getEnabledProtocols();
		if (protocols != null) {
			parameters.setProtocols(protocols);
		}
		return parameters;
	}

	private CertificateException refusal(X509Certificate[] chain, String authType, @Nullable String host,
			CertificateException failure) {
		for (X509Certificate certificate : chain) {
			try {
				certificate.checkValidity();
			}
			catch (CertificateExpiredException ex) {
				return new CertificateRefusedException(CertificateRefusedException.Reason.EXPIRED,
						subject(certificate) + " expired on " + certificate.getNotAfter().toInstant(), failure);
			}
			catch (CertificateNotYetValidException ex) {
				return new CertificateRefusedException(CertificateRefusedException.Reason.NOT_YET_VALID,
						subject(certificate) + " is valid only from " + certificate.getNotBefore().toInstant(),
						failure);
			}
		}
		X509Certificate leaf = chain[0];
		try {
			this.managers.trustManager().checkServerTrusted(chain, authType);
		}
		catch (CertificateException ex) {
			return new CertificateRefusedException(CertificateRefusedException.Reason.UNTRUSTED,
					subject(leaf) + ", issued by " + chain[chain.length - 1].getIssuerX500Principal().getName()
							+ ", is not trusted by " + this.source,
					failure);
		}
		return new CertificateRefusedException(CertificateRefusedException.Reason.NAME_MISMATCH,
				subject(leaf) + " names " + alternativeNames(leaf) + " but not the host called, "
						+ ((host != null) ? host : "(unknown)"),
				failure);
	}

	private static String subject(X509Certificate certificate) {
		return "the certificate " + certificate.getSubjectX500Principal().getName();
	}

	private static List<String> alternativeNames(X509Certificate certificate) {
		List<String> names = new ArrayList<>();
		try {
			Collection<List<?>> alternatives = certificate.getSubjectAlternativeNames();
			if (alternatives != null) {
				for (List<?> alternative : alternatives) {
					if (alternative.size() > 1 && alternative.get(1) instanceof String name) {
						names.add(name);
					}
				}
			}
		}
		catch (CertificateParsingException ex) {
			// The names are only for the message: without them it says []
		}
		return names;
	}

	/** The bundle's managers at one moment; replaced whole on a reload. */
	private record Managers(@Nullable X509KeyManager keyManager, X509ExtendedTrustManager trustManager) {

	}

	/** Verifies with the current trust material and says why a certificate is refused. */
	private final class ClassifyingTrustManager extends X509ExtendedTrustManager {

		@Override
		public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
				throws CertificateException {
			X509ExtendedTrustManager delegate = ClientTls.this.managers.trustManager();
			try {
				delegate.checkServerTrusted(chain, authType, engine);
			}
			catch (CertificateException ex) {
				throw refusal(chain, authType, engine.getPeerHost(), ex);
			}
		}

		@Override
		public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
				throws CertificateException {
			X509ExtendedTrustManager delegate = ClientTls.this.managers.trustManager();
			try {
				delegate.checkServerTrusted(chain, authType, socket);
			}
			catch (CertificateException ex) {
				throw refusal(chain, authType, null, ex);
			}
		}

		@Override
		public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
			try {
				ClientTls.this.managers.trustManager().checkServerTrusted(chain, authType);
			}
			catch (CertificateException ex) {
				throw refusal(chain, authType, null, ex);
			}
		}

		@Override
		public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
				throws CertificateException {
			ClientTls.this.managers.trustManager().checkClientTrusted(chain, authType, engine);
		}

		@Override
		public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
				throws CertificateException {
			ClientTls.this.managers.trustManager().checkClientTrusted(chain, authType, socket);
		}

		@Override
		public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
			ClientTls.this.managers.trustManager().checkClientTrusted(chain, authType);
		}

		@Override
		public X509Certificate[] getAcceptedIssuers() {
			return ClientTls.this.managers.trustManager().getAcceptedIssuers();
		}

	}

	/** Presents the current bundle's key, if it has one. */
	private final class CurrentKeyManager extends X509ExtendedKeyManager {

		private @Nullable X509KeyManager delegate() {
			return ClientTls.this.managers.keyManager();
		}

		@Override
		public String @Nullable [] getClientAliases(String keyType, Principal @Nullable [] issuers) {
			X509KeyManager delegate = delegate();
			return (delegate != null) ? delegate.getClientAliases(keyType, issuers) : null;
		}

		@Override
		public @Nullable String chooseClientAlias(String[] keyType, Principal @Nullable [] issuers,
				@Nullable Socket socket) {
			X509KeyManager delegate = delegate();
			return (delegate != null) ? delegate.chooseClientAlias(keyType, issuers, socket) : null;
		}

		@Override
		public @Nullable String chooseEngineClientAlias(String[] keyType, Principal @Nullable [] issuers,
				@Nullable SSLEngine engine) {
			X509KeyManager delegate = delegate();
			if (delegate instanceof X509ExtendedKeyManager extended) {
				return extended.chooseEngineClientAlias(keyType, issuers, engine);
			}
			return (delegate != null) ? delegate.chooseClientAlias(keyType, issuers, null) : null;
		}

		@Override
		public String @Nullable [] getServerAliases(String keyType, Principal @Nullable [] issuers) {
			return null;
		}

		@Override
		public @Nullable String chooseServerAlias(String keyType, Principal @Nullable [] issuers,
				@Nullable Socket socket) {
			return null;
		}

		@Override
		public X509Certificate @Nullable [] getCertificateChain(String alias) {
			X509KeyManager delegate = delegate();
			return (delegate != null) ? delegate.getCertificateChain(alias) : null;
		}

		@Override
		public @Nullable PrivateKey getPrivateKey(String alias) {
			X509KeyManager delegate = delegate();
			return (delegate != null) ? delegate.getPrivateKey(alias) : null;
		}

	}

}

package dev.lockstep.block.nbd.tls;

import java.security.cert.CertPathBuilderException;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import org.jspecify.annotations.Nullable;

/**
 * What the NBD protocol asks of TLS (TLS 1.3, or TLS 1.2 with forward-secret AEAD suites
 * only), applied to an engine, and a description of why a handshake failed, for the log.
 */
public final class TlsPolicy {

	private static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

	/** TLS 1.3 suites, and TLS 1.2 suites with ECDHE and an AEAD cipher. */
	private static final Pattern SUITES = Pattern
		.compile("TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)"
				+ "|TLS_ECDHE_(ECDSA|RSA)_WITH_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)");

	private static final int DNS_NAME = 2;

	private static final int IP_ADDRESS = 7;

	private TlsPolicy() {
	}

	/**
	 * Restricts an engine to the allowed protocols and suites, keeping any narrower
	 * choice its configuration already made.
	 * @param engine the engine
	 */
	public static void apply(SSLEngine engine) {
		SSLParameters parameters = engine.getSSLParameters();
		parameters.setProtocols(
				Arrays.stream(engine.getEnabledProtocols()).filter(PROTOCOLS::contains).toArray(String[]::new));
		parameters.setCipherSuites(Arrays.stream(engine.getEnabledCipherSuites())
			.filter((suite) -> SUITES.matcher(suite).matches())
			.toArray(String[]::new));
		engine.setSSLParameters(parameters);
	}

	/**
	 * Says why a TLS handshake failed, from the types in the exception's causes.
	 * @param failure the failure
	 * @param peer who was being checked: "client" or "server"
	 * @return a short description for a log line
	 */
	public static String describe(Throwable failure, String peer) {
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			if (cause instanceof CertificateExpiredException) {
				return "the " + peer + "'s certificate has expired";
			}
			if (cause instanceof CertificateNotYetValidException) {
				return "the " + peer + "'s certificate is not valid yet";
			}
			if (cause instanceof CertPathValidatorException validator
					&& validator.getReason() == CertPathValidatorException.BasicReason.EXPIRED) {
				return "the " + peer + "'s certificate has expired";
			}
			if (cause instanceof CertPathValidatorException validator
					&& validator.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
				return "the " + peer + "'s certificate is not valid yet";
			}
			if (cause instanceof CertPathBuilderException) {
				return "the " + peer + "'s certificate is not issued by a trusted authority";
			}
			if (cause instanceof java.security.cert.CertificateException && cause.getCause() == null
					&& cause != failure) {
				return "the " + peer + "'s certificate was rejected: " + cause.getMessage();
			}
		}
		return String.valueOf(failure.getMessage());
	}

	/**
	 * The DNS names and IP addresses among the subject alternative names of the peer's
	 * certificate.
	 * @param session the session after the handshake
	 * @return the names, or {@code null} if the peer sent no certificate
	 */
	public static @Nullable List<String> peerNames(SSLSession session) {
		Certificate[] chain;
		try {
			chain = session.getPeerCertificates();
		}
		catch (SSLPeerUnverifiedException ex) {
			return null;
		}
		if (chain.length == 0 || !(chain[0] instanceof X509Certificate certificate)) {
			return null;
		}
		List<String> names = new ArrayList<>();
		try {
			Collection<List<?>> alternatives = certificate.getSubjectAlternativeNames();
			if (alternatives != null) {
				for (List<?> alternative : alternatives) {
					Object type = alternative.get(0);
					if ((Integer.valueOf(DNS_NAME).equals(type) || Integer.valueOf(IP_ADDRESS).equals(type))
							&& alternative.get(1) instanceof String name) {
						names.add(name);
					}
				}
			}
		}
		catch (CertificateParsingException ex) {
			return List.of();
		}
		return List.copyOf(names);
	}

}

package dev.lockstep.block;

import org.springframework.boot.ssl.DefaultSslBundleRegistry;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.pem.PemSslStoreBundle;
import org.springframework.boot.ssl.pem.PemSslStoreDetails;

import dev.lockstep.TestCertificates;

/**
 * TLS engines for tests, from a PEM SSL bundle made of {@link TestCertificates} files.
 */
public final class TestTlsBundles {

	private TestTlsBundles() {
	}

	/**
	 * A bundle with the certificate and key of {@code issued}, trusting its authority.
	 */
	public static SslBundle bundle(TestCertificates.Issued issued) {
		PemSslStoreDetails keyStore = PemSslStoreDetails.forCertificate("file:" + issued.certificate())
			.withPrivateKey("file:" + issued.privateKey());
		PemSslStoreDetails trustStore = PemSslStoreDetails.forCertificate("file:" + issued.caCertificate());
		return SslBundle.of(new PemSslStoreBundle(keyStore, trustStore));
	}

	/** Engines from a registry holding only {@link #bundle(TestCertificates.Issued)}. */
	public static NbdTlsEngines engines(TestCertificates.Issued issued, BlockProperties.ClientAuth clientAuth) {
		return new NbdTlsEngines(new DefaultSslBundleRegistry("nbd", bundle(issued)), "nbd", clientAuth);
	}

}

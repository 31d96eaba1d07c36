package dev.lockstep.https;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.lockstep.TestCertificates;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.pem.PemSslStoreBundle;
import org.springframework.boot.ssl.pem.PemSslStoreDetails;

/**
 * SSL bundles made of {@link TestCertificates} files, as objects and as the
 * {@code spring.ssl.bundle.pem.*} properties that define them.
 */
public final class TestBundles {

	private TestBundles() {
	}

	/**
	 * A bundle with this key, if any, that trusts this authority.
	 * @param key the certificate and key to present, or {@code null}
	 * @param trusted the authority certificate to trust
	 * @return the bundle
	 */
	public static SslBundle bundle(TestCertificates.@Nullable Issued key, Path trusted) {
		PemSslStoreDetails keyStore = (key != null) ? PemSslStoreDetails.forCertificate(location(key.certificate()))
			.withPrivateKey(location(key.privateKey())) : null;
		return SslBundle.of(new PemSslStoreBundle(keyStore, PemSslStoreDetails.forCertificate(location(trusted))));
	}

	/**
	 * The properties that define the same bundle under a name.
	 * @param name the bundle's name
	 * @param key the certificate and key to present, or {@code null}
	 * @param trusted the authority certificate to trust
	 * @return the properties, such as
	 * {@code spring.ssl.bundle.pem.peer.truststore.certificate}
	 */
	public static Map<String, String> properties(String name, TestCertificates.@Nullable Issued key, Path trusted) {
		String prefix = "spring.ssl.bundle.pem." + name + ".";
		Map<String, String> properties = new LinkedHashMap<>();
		if (key != null) {
			properties.put(prefix + "keystore.certificate", location(key.certificate()));
			properties.put(prefix + "keystore.private-key", location(key.privateKey()));
		}
		properties.put(prefix + "truststore.certificate", location(trusted));
		return properties;
	}

	private static String location(Path file) {
		return "file:" + file.toAbsolutePath();
	}

}

package dev.lockstep;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * A test certificate authority that issues server and client certificates as PEM files,
 * in the layouts that Spring Boot's PEM SSL bundles, GnuTLS clients ({@code nbdinfo},
 * {@code nbdcopy} with {@code tls-certificates=DIR}) and QEMU's {@code tls-creds-x509}
 * read. Every authority is new, so two of them never trust each other's certificates.
 */
public final class TestCertificates {

	private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

	private static final Duration VALIDITY = Duration.ofDays(2);

	private final Path directory;

	private final KeyPair key;

	private final X509Certificate certificate;

	private TestCertificates(Path directory, KeyPair key, X509Certificate certificate) {
		this.directory = directory;
		this.key = key;
		this.certificate = certificate;
	}

	/**
	 * Creates a new authority whose files go under {@code directory}.
	 * @param directory where the authority's and its certificates' files go
	 * @param name the authority's common name
	 * @return the authority; its certificate is in {@link #caCertificate()}
	 */
	public static TestCertificates authority(Path directory, String name) {
		try {
			Files.createDirectories(directory);
			KeyPair key = newKey();
			Instant now = Instant.now();
			X500Name subject = new X500Name("CN=" + name);
			X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, nextSerial(),
					Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(VALIDITY)), subject, key.getPublic());
			JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
			builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
			builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
			builder.addExtension(Extension.subjectKeyIdentifier, false,
					extensions.createSubjectKeyIdentifier(key.getPublic()));
			X509Certificate certificate = sign(builder, key);
			TestCertificates authority = new TestCertificates(directory, key, certificate);
			writePem(directory.resolve("ca-cert.pem"), certificate);
			return authority;
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		catch (GeneralSecurityException | OperatorCreationException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/**
	 * The authority's certificate, PEM, for trust stores and {@code ca-cert.pem}.
	 * @return the file
	 */
	public Path caCertificate() {
		return this.directory.resolve("ca-cert.pem");
	}

	/**
	 * Issues a certificate valid for both TLS servers and clients, valid from an hour ago
	 * for two days.
	 * @param name the file name prefix and common name
	 * @param subjectAlternativeNames DNS names, or IP addresses when they parse as such
	 * @return the certificate and key files
	 */
	public Issued issue(String name, String... subjectAlternativeNames) {
		Instant now = Instant.now();
		return issue(name, now.minus(Duration.ofHours(1)), now.plus(VALIDITY), subjectAlternativeNames);
	}

	/**
	 * Issues a certificate that expired yesterday.
	 * @param name the file name prefix and common name
	 * @param subjectAlternativeNames DNS names or IP addresses
	 * @return the certificate and key files
	 */
	public Issued issueExpired(String name, String... subjectAlternativeNames) {
		Instant now = Instant.now();
		return issue(name, now.minus(Duration.ofDays(30)), now.minus(Duration.ofDays(1)), subjectAlternativeNames);
	}

	/**
	 * Issues a certificate for the given validity period.
	 * @param name the file name prefix and common name
	 * @param notBefore the start of validity
	 * @param notAfter the end of validity
	 * @param subjectAlternativeNames DNS names or IP addresses
	 * @return the certificate and key files
	 */
	public Issued issue(String name, Instant notBefore, Instant notAfter, String... subjectAlternativeNames) {
		try {
			KeyPair subjectKey = newKey();
			JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(this.certificate, nextSerial(),
					Date.from(notBefore), Date.from(notAfter), new X500Name("CN=" + name), subjectKey.getPublic());
			JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
			builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
			builder.addExtension(Extension.keyUsage, true,
					new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
			builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
					new KeyPurposeId[] { KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth }));
			builder.addExtension(Extension.authorityKeyIdentifier, false,
					extensions.createAuthorityKeyIdentifier(this.certificate));
			List<GeneralName> names = new ArrayList<>();
			for (String alternative : subjectAlternativeNames) {
				names.add(new GeneralName(isAddress(alternative) ? GeneralName.iPAddress : GeneralName.dNSName,
						alternative));
			}
			if (!names.isEmpty()) {
				builder.addExtension(Extension.subjectAlternativeName, false,
						new GeneralNames(names.toArray(GeneralName[]::new)));
			}
			X509Certificate issued = sign(builder, this.key);
			Issued files = new Issued(this.directory.resolve(name + "-cert.pem"),
					this.directory.resolve(name + "-key.pem"), caCertificate());
			writePem(files.certificate(), issued);
			writeKey(files.privateKey(), subjectKey);
			return files;
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		catch (GeneralSecurityException | OperatorCreationException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/**
	 * Writes a directory in the layout GnuTLS-based clients and QEMU read:
	 * {@code ca-cert.pem}, {@code server-cert.pem}, {@code server-key.pem},
	 * {@code client-cert.pem} and {@code client-key.pem}, each present only when given.
	 * @param target the directory to create
	 * @param server the server's certificate, or {@code null}
	 * @param client the client's certificate, or {@code null}
	 * @return the directory
	 */
	public Path gnutlsDirectory(Path target, @org.jspecify.annotations.Nullable Issued server,
			@org.jspecify.annotations.Nullable Issued client) {
		try {
			Files.createDirectories(target);
			Files.copy(caCertificate(), target.resolve("ca-cert.pem"),
					java.nio.file.StandardCopyOption.REPLACE_EXISTING);
			if (server != null) {
				Files.copy(server.certificate(), target.resolve("server-cert.pem"),
						java.nio.file.StandardCopyOption.REPLACE_EXISTING);
				Files.copy(server.privateKey(), target.resolve("server-key.pem"),
						java.nio.file.StandardCopyOption.REPLACE_EXISTING);
			}
			if (client != null) {
				Files.copy(client.certificate(), target.resolve("client-cert.pem"),
						java.nio.file.StandardCopyOption.REPLACE_EXISTING);
				Files.copy(client.privateKey(), target.resolve("client-key.pem"),
						java.nio.file.StandardCopyOption.REPLACE_EXISTING);
			}
			return target;
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	private static boolean isAddress(String name) {
		return name.matches("[0-9.]+") || name.contains(":");
	}

	private static KeyPair newKey() throws GeneralSecurityException {
		// RSA: GnuTLS, which nbdinfo, nbdcopy and QEMU use, refuses the JDK's PKCS#8 EC
		// keys
		KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
		generator.initialize(2048, new SecureRandom());
		return generator.generateKeyPair();
	}

	private static BigInteger nextSerial() {
		return BigInteger.valueOf(SERIAL.incrementAndGet());
	}

	private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer)
			throws OperatorCreationException, GeneralSecurityException {
		return new JcaX509CertificateConverter()
			.getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withRSA").build(signer.getPrivate())));
	}

	private static void writePem(Path file, X509Certificate certificate) throws IOException {
		StringWriter text = new StringWriter();
		try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
			writer.writeObject(certificate);
		}
		Files.writeString(file, text.toString());
	}

	private static void writeKey(Path file, KeyPair key) throws IOException {
		StringWriter text = new StringWriter();
		try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
			writer.writeObject(new PemObject("PRIVATE KEY", key.getPrivate().getEncoded()));
		}
		Files.writeString(file, text.toString());
	}

	/**
	 * A certificate and its key, PEM (the key PKCS#8), with the issuing authority's
	 * certificate.
	 *
	 * @param certificate the certificate file
	 * @param privateKey the unencrypted PKCS#8 key file
	 * @param caCertificate the issuer's certificate file
	 */
	public record Issued(Path certificate, Path privateKey, Path caCertificate) {
	}

}

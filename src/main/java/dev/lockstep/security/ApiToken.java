package dev.lockstep.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.jspecify.annotations.Nullable;

import org.springframework.util.StringUtils;

/**
 * The API's bearer token, and a constant-time check of presented tokens.
 */
final class ApiToken {

	private static final Log logger = LogFactory.getLog(ApiToken.class);

	private final byte[] digest;

	private ApiToken(String token) {
		this.digest = sha256(token);
	}

	/**
	 * Returns the configured token or, if none is configured, the one kept in the token
	 * file, generating and writing it first if the file does not exist.
	 */
	static ApiToken resolve(SecurityProperties properties) {
		String configured = properties.apiToken();
		if (configured != null && StringUtils.hasText(configured)) {
			return new ApiToken(configured.strip());
		}
		Path file = properties.tokenFile().toAbsolutePath().normalize();
		try {
			String existing = Files.isRegularFile(file) ? Files.readString(file, StandardCharsets.UTF_8).strip() : "";
			if (!existing.isEmpty()) {
				logger.info("Using the API token in " + file);
				return new ApiToken(existing);
			}
			String generated = generate();
			write(file, generated);
			logger.info(
					"Generated an API token and wrote it to " + file + "; send it as 'Authorization: Bearer <token>'");
			return new ApiToken(generated);
		}
		catch (IOException ex) {
			throw new IllegalStateException("Cannot read or write the API token file " + file
					+ ": set lockstep.security.api-token or make the file's directory writable", ex);
		}
	}

	static ApiToken of(String token) {
		return new ApiToken(token);
	}

	/**
	 * Compares a presented token with this one in time that does not depend on where they
	 * differ.
	 */
	boolean matches(@Nullable String presented) {
		return presented != null && MessageDigest.isEqual(this.digest, sha256(presented));
	}

	private static String generate() {
		byte[] bytes = new byte[32];
		new SecureRandom().nextBytes(bytes);
		return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
	}

	private static void write(Path file, String token) throws IOException {
		Files.createDirectories(file.getParent());
		try {
			Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
		}
		catch (FileAlreadyExistsException ex) {
			Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
		}
		catch (UnsupportedOperationException ex) {
			Files.deleteIfExists(file);
			Files.createFile(file);
		}
		Files.writeString(file, token + "\n", StandardCharsets.UTF_8);
	}

	private static byte[] sha256(String value) {
		try {
			return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("SHA-256 is not available", ex);
		}
	}

}

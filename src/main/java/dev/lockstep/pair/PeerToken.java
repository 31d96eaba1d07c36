package dev.lockstep.pair;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

import dev.lockstep.security.SecurityProperties;
import org.jspecify.annotations.Nullable;

import org.springframework.util.StringUtils;

/**
 * The token this node presents to its peer: {@code lockstep.pair.peer-token} if set, else
 * this node's own API token, which both nodes of a pair usually share. The own token is
 * {@code lockstep.security.api-token}, else the one in the token file, read when the peer
 * is asked (the security configuration writes the file at start-up).
 */
final class PeerToken implements Supplier<@Nullable String> {

	private final @Nullable String peerToken;

	private final SecurityProperties security;

	PeerToken(PairProperties pair, SecurityProperties security) {
		this.peerToken = pair.peerToken();
		this.security = security;
	}

	@Override
	public @Nullable String get() {
		if (this.peerToken != null) {
			return this.peerToken;
		}
		String own = this.security.apiToken();
		if (own != null && StringUtils.hasText(own)) {
			return own.strip();
		}
		Path file = this.security.tokenFile();
		try {
			String stored = Files.isRegularFile(file) ? Files.readString(file, StandardCharsets.UTF_8).strip() : "";
			return stored.isEmpty() ? null : stored;
		}
		catch (IOException ex) {
			return null;
		}
	}

}

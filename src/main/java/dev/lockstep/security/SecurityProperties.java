package dev.lockstep.security;

import java.nio.file.Path;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Configuration of API authentication, under {@code lockstep.security}.
 *
 * @param apiToken the bearer token callers must present; also read from the
 * {@code LOCKSTEP_SECURITY_API_TOKEN} environment variable. When neither is set, a token
 * is generated and written to {@code tokenFile}
 * @param tokenFile where a generated token is kept (mode 0600); an existing file is
 * reused, so the token survives restarts
 * @param tokenName the caller identity that the token stands for in reports and the audit
 * log
 * @param openReads whether {@code GET} requests under {@code /api/**} are allowed without
 * a token
 * @param prometheusRequiresToken whether {@code /actuator/prometheus} needs the token
 * @param maxRequestBody the largest request body accepted; larger ones get {@code 413}
 */
@ConfigurationProperties("lockstep.security")
public record SecurityProperties(@Nullable String apiToken, @DefaultValue("./data/api-token") Path tokenFile,
		@DefaultValue("api-token") String tokenName, @DefaultValue("false") boolean openReads,
		@DefaultValue("false") boolean prometheusRequiresToken, @DefaultValue("64KB") DataSize maxRequestBody) {
}

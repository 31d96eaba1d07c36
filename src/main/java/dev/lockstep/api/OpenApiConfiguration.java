package dev.lockstep.api;

import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.info.License;
import io.swagger.v3.oas.annotations.security.SecurityScheme;
import io.swagger.v3.oas.annotations.servers.Server;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The fixed parts of the OpenAPI contract; {@code openapi/lockstep.yaml} is the committed
 * copy of what this service serves at {@code /v3/api-docs.yaml}.
 */
@Configuration(proxyBeanMethods = false)
@SecurityScheme(name = OpenApiConfiguration.BEARER, type = SecuritySchemeType.HTTP, scheme = "bearer",
		description = "The API token: lockstep.security.api-token, or the generated one in data/api-token")
@OpenAPIDefinition(info = @Info(title = "Lockstep", version = "v1",
		description = "Drives replication participants through the COLO lifecycle: start, checkpoint, "
				+ "error sweep and stop. Errors are application/problem+json (RFC 9457).",
		license = @License(name = "Apache-2.0")), servers = @Server(url = "/"))
class OpenApiConfiguration {

	static final String BEARER = "bearer";

	@Bean
	OpenApiExamples openApiExamples() {
		return new OpenApiExamples();
	}

}

/**
 * Spring Boot auto-configuration of Usher from {@code usher.*} properties
 * ({@link dev.usher.spring.boot.autoconfigure.UsherProperties}); the application adds
 * usher-spring-boot-starter and defines its {@code WorkflowLoader} bean.
 *
 * <p>Parameters and return values are never null unless documented otherwise.
 */
package dev.usher.spring.boot.autoconfigure;

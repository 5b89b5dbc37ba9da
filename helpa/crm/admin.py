from django.contrib import admin

from .models import (
    Brand,
    Company,
    CompanyDomain,
    CompanyPhone,
    Contact,
    ContactEmail,
    ContactPhone,
)


class CompanyDomainInline(admin.TabularInline):
    model = CompanyDomain
    extra = 1


class CompanyPhoneInline(admin.TabularInline):
    model = CompanyPhone
    extra = 0


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    inlines = [CompanyDomainInline, CompanyPhoneInline]
    list_display = ["name", "organisation_number", "customer_number", "brand", "legal_hold"]
    list_filter = ["legal_hold", "brand"]
    search_fields = ["name", "organisation_number", "customer_number", "domains__domain"]


class ContactEmailInline(admin.TabularInline):
    model = ContactEmail
    extra = 0


class ContactPhoneInline(admin.TabularInline):
    model = ContactPhone
    extra = 0


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    inlines = [ContactEmailInline, ContactPhoneInline]
    list_display = ["name", "email", "company"]
    search_fields = ["name", "email", "emails__address", "phones__number"]
    raw_id_fields = ["company", "user"]


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "sender_address"]
    filter_horizontal = ["limited_agents"]
